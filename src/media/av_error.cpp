#include "gordo/media/av.h"

namespace gordo::av {

std::string error_text(int averror) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(averror, buf, sizeof buf);
  return buf;
}

void output_freer::operator()(AVFormatContext* c) const {
  if (c->pb) {
    av_freep(&c->pb->buffer);
    avio_context_free(&c->pb);
  }
  avformat_free_context(c);
}

}  // namespace gordo::av
