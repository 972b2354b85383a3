// gordo's flags with their help text and defaults (what --help prints); config.cpp reads
// them into a config.
#pragma once

#include <cxxopts.hpp>

namespace gordo {

cxxopts::Options flag_table();

struct record_options;
// --record and its settings (record_options{} when not given). Throws config_error.
record_options record_from(const cxxopts::ParseResult& args);

}  // namespace gordo
