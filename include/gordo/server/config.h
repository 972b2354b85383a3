// What gordo was asked to do, from its command line.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "gordo/net/address.h"

namespace gordo {

struct config {
  address listen;
  std::string input;  // empty: the built-in test pattern
  std::string mount = "/live.ts";
  bool loop = false;
  unsigned workers = 1;
  size_t ring_chunks = 1024;
  std::string log_level = "info";
};

// A bad command line; the message says what was wrong.
struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// nullopt after printing --help or --version; throws config_error on a bad flag.
std::optional<config> parse_args(int argc, char** argv);

}  // namespace gordo
