// gordo's flags with their help text and defaults (what --help prints); config.cpp reads
// them into a config.
#pragma once

#include <cxxopts.hpp>

namespace gordo {

cxxopts::Options flag_table();

}  // namespace gordo
