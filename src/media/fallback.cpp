#include "gordo/media/fallback.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <new>

namespace gordo {

namespace {

bool is_h26x(AVCodecID id) {
  return id == AV_CODEC_ID_H264 || id == AV_CODEC_ID_HEVC;
}

// avcC and hvcC begin with configurationVersion 1; Annex B with a start code.
bool length_prefixed(const AVCodecParameters& p) {
  return p.extradata_size > 0 && p.extradata[0] == 1;
}

bool same_bytes(const AVCodecParameters& a, const AVCodecParameters& b) {
  return a.extradata_size == b.extradata_size &&
         (a.extradata_size == 0 ||
          std::memcmp(a.extradata, b.extradata, static_cast<size_t>(a.extradata_size)) == 0);
}

std::string describe_track(const track& t) {
  const AVCodecParameters& p = *t.par;
  std::string s = avcodec_get_name(p.codec_id);
  if (p.codec_type == AVMEDIA_TYPE_VIDEO) {
    s += fmt::format(" {}x{}", p.width, p.height);
    if (t.frame_rate.num > 0 && t.frame_rate.den > 0)
      s += fmt::format(" {:.3g} fps", av_q2d(t.frame_rate));
  } else if (p.codec_type == AVMEDIA_TYPE_AUDIO) {
    s += fmt::format(" {} Hz {} ch", p.sample_rate, p.ch_layout.nb_channels);
  }
  return s;
}

// The SPS and PPS of an avcC record, each as `nal_size`-byte length + NAL unit (or with a
// start code when nal_size is 0). Empty when the record is malformed.
std::vector<uint8_t> avcc_parameter_sets(const AVCodecParameters& p, int nal_size) {
  const uint8_t* d = p.extradata;
  size_t n = static_cast<size_t>(p.extradata_size), at = 5;
  std::vector<uint8_t> out;
  if (n < 7) return {};
  for (int table = 0; table < 2; ++table) {  // SPS, then PPS
    if (at >= n) return {};
    unsigned count = table == 0 ? d[at] & 0x1f : d[at];
    ++at;
    for (unsigned i = 0; i < count; ++i) {
      if (at + 2 > n) return {};
      size_t len = static_cast<size_t>(d[at]) << 8 | d[at + 1];
      at += 2;
      if (at + len > n) return {};
      if (nal_size == 0) {
        out.insert(out.end(), {0, 0, 0, 1});
      } else {
        for (int b = nal_size - 1; b >= 0; --b) out.push_back(static_cast<uint8_t>(len >> (8 * b)));
      }
      out.insert(out.end(), d + at, d + at + len);
      at += len;
    }
  }
  return out;
}

}  // namespace

source_layout copy_of(const source_layout& l) {
  source_layout out;
  for (const track& t : l) {
    track c{av::codecpar_ptr(avcodec_parameters_alloc()), t.time_base, t.frame_rate,
            t.attached_pic};
    if (!c.par || avcodec_parameters_copy(c.par.get(), t.par.get()) < 0) throw std::bad_alloc();
    out.push_back(std::move(c));
  }
  return out;
}

int switch_track(const source_layout& l) {
  for (size_t i = 0; i < l.size(); ++i)
    if (l[i].par->codec_type == AVMEDIA_TYPE_VIDEO && !l[i].attached_pic)
      return static_cast<int>(i);
  return -1;
}

std::string misfit(const source_layout& muxed, const source_layout& in) {
  if (muxed.size() != in.size())
    return fmt::format("{} tracks ({}), the stream has {} ({})", in.size(), describe(in),
                       muxed.size(), describe(muxed));
  for (size_t i = 0; i < muxed.size(); ++i) {
    const AVCodecParameters& a = *muxed[i].par;
    const AVCodecParameters& b = *in[i].par;
    auto differs = [&](const char* what) {
      return fmt::format("track {} is {}, the stream's is {} ({} differs)", i,
                         describe_track(in[i]), describe_track(muxed[i]), what);
    };
    if (a.codec_type != b.codec_type || a.codec_id != b.codec_id ||
        muxed[i].attached_pic != in[i].attached_pic)
      return differs("codec");
    if (a.codec_type == AVMEDIA_TYPE_VIDEO) {
      if (a.width != b.width || a.height != b.height) return differs("picture size");
      if (a.format >= 0 && b.format >= 0 && a.format != b.format) return differs("pixel format");
      AVRational x = muxed[i].frame_rate, y = in[i].frame_rate;
      if (x.num > 0 && x.den > 0 && y.num > 0 && y.den > 0 &&
          std::fabs(av_q2d(x) / av_q2d(y) - 1) > 0.01)
        return differs("frame rate");
      if (!same_bytes(a, b)) {
        if (!is_h26x(a.codec_id)) return differs("codec header");
        if (length_prefixed(a) != length_prefixed(b))
          return differs(length_prefixed(a)
                             ? "the stream's H.264 is avcC (FLV, MP4), this is Annex B"
                             : "the stream's H.264 is Annex B (MPEG-TS), this is avcC");
        if (length_prefixed(a) &&
            (a.codec_id == AV_CODEC_ID_HEVC || a.extradata_size < 5 || b.extradata_size < 5 ||
             (a.extradata[4] & 3) != (b.extradata[4] & 3)))
          return differs("codec header");
      }
    } else if (a.codec_type == AVMEDIA_TYPE_AUDIO) {
      if (a.sample_rate != b.sample_rate) return differs("sample rate");
      if (a.ch_layout.nb_channels != b.ch_layout.nb_channels) return differs("channels");
      // AAC: with ADTS headers (no codec header) or raw with its AudioSpecificConfig.
      if (a.codec_id == AV_CODEC_ID_AAC &&
          ((a.profile >= 0 && b.profile >= 0 && a.profile != b.profile) ||
           (a.extradata_size > 0) != (b.extradata_size > 0) ||
           (a.extradata_size > 0 && !same_bytes(a, b))))
        return differs("AAC configuration");
    }
  }
  return "";
}

std::vector<std::vector<uint8_t>> parameter_sets(const source_layout& muxed,
                                                 const source_layout& in) {
  std::vector<std::vector<uint8_t>> out(in.size());
  for (size_t i = 0; i < in.size() && i < muxed.size(); ++i) {
    const AVCodecParameters& a = *muxed[i].par;
    const AVCodecParameters& b = *in[i].par;
    if (!is_h26x(b.codec_id) || b.extradata_size == 0 || same_bytes(a, b)) continue;
    if (!length_prefixed(b)) {
      out[i].assign(b.extradata, b.extradata + b.extradata_size);  // Annex B already
    } else if (b.codec_id == AV_CODEC_ID_H264) {
      out[i] = avcc_parameter_sets(b, (b.extradata[4] & 3) + 1);
    }
  }
  return out;
}

}  // namespace gordo
