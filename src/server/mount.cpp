#include "gordo/server/mount.h"

namespace gordo {

mount& mount_table::add(std::unique_ptr<mount> m) {
  mounts_.push_back(std::move(m));
  return *mounts_.back();
}

int mount_table::find(std::string_view path) const {
  for (size_t i = 0; i < mounts_.size(); ++i)
    if (mounts_[i]->path == path) return static_cast<int>(i);
  return -1;
}

}  // namespace gordo
