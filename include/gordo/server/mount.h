// Mounts: the paths viewers request, each with its stream and the ingest feeding it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gordo/core/stream.h"
#include "gordo/media/ingest.h"

namespace gordo {

struct mount {
  std::string path;           // "/live.ts"
  std::string content_type;   // "video/mp2t"
  std::string response_head;  // the 200 head every viewer gets first
  std::unique_ptr<stream> out;
  std::unique_ptr<ingest> source;
};

class mount_table {
 public:
  mount& add(std::unique_ptr<mount> m);
  // Index of the mount at `path`, or -1.
  int find(std::string_view path) const;
  mount& at(size_t i) { return *mounts_[i]; }
  const mount& at(size_t i) const { return *mounts_[i]; }
  size_t size() const { return mounts_.size(); }

 private:
  std::vector<std::unique_ptr<mount>> mounts_;
};

}  // namespace gordo
