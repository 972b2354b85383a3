// gordo's flags with their help text and defaults (what --help prints); config.cpp reads
// them into a config.
#pragma once

#include <cxxopts.hpp>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace gordo {

cxxopts::Options flag_table();

// The config file's top-level keys, each the flag of its name with '-' for '_'.
std::span<const std::string_view> file_keys();
// A top-level key's flag: "max_lag" is "--max-lag".
std::string flag_of(std::string_view key);
// A [[mount]] table's keys, each with the flag it stands for.
std::span<const std::pair<std::string_view, std::string_view>> mount_file_keys();

struct record_options;
// --record and its settings (record_options{} when not given). Throws config_error.
record_options record_from(const cxxopts::ParseResult& args);

}  // namespace gordo
