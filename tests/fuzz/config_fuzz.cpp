// libFuzzer target: a config file as gordo reads it: TOML, the keys mapped to flags, and
// every flag's own validation, as --config runs them. Errors must be config_errors with a
// message, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gordo/ops/config.h"

namespace {

void check(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  try {
    gordo::parse_args(static_cast<int>(argv.size()), argv.data());
  } catch (const gordo::config_error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  gordo::file_args file;
  try {
    file = gordo::read_config_text(text, "fuzz.toml");
  } catch (const gordo::config_error&) {
    return 0;
  }
  for (const auto& [flag, value] : file.flags)
    check(value.empty() ? std::vector<std::string>{"gordo", flag, "--check-config"}
                        : std::vector<std::string>{"gordo", flag, value, "--check-config"});
  for (const gordo::file_mount& m : file.mounts) {
    std::vector<std::string> args{"gordo", "--check-config"};
    args.insert(args.end(), m.args.begin(), m.args.end());
    check(args);
  }
  return 0;
}
