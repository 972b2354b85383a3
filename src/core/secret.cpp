#include "gordo/core/secret.h"

namespace gordo {

bool same_secret(std::string_view given, std::string_view want) {
  unsigned char diff = given.size() != want.size();
  for (size_t i = 0; i < want.size(); ++i)
    diff |= static_cast<unsigned char>(want[i] ^ (i < given.size() ? given[i] : 0));
  return diff == 0;
}

}  // namespace gordo
