// gordo-load's flags with their help text and defaults (what --help prints; gordo-load(1)
// is made from them too, by tools/man.cpp).
#pragma once

#include <cxxopts.hpp>

namespace gordo::load {

cxxopts::Options flag_table();

}  // namespace gordo::load
