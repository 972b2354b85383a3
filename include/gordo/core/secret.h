// Comparing secrets (passwords, hashes) in a time that depends only on the expected
// secret's length, so that a guess cannot be refined a byte at a time from how fast it
// is refused.
#pragma once

#include <string_view>

namespace gordo {

bool same_secret(std::string_view given, std::string_view want);

}  // namespace gordo
