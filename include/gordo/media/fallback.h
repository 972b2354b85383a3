// A fallback (a slate: "we'll be right back") for a source that is away: its packets go to
// the source's muxers in the source's place, on the same timeline, without a new header.
// For that its tracks must fit the muxers' (misfit); H.264 whose parameter sets differ
// from the header's carries its own in band at each keyframe (parameter_sets).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "gordo/media/remuxer.h"

namespace gordo {

struct fallback_spec {
  std::string url;  // a file (or any URL) played looped, from its start each time it goes on air
  std::chrono::milliseconds after{2000};  // the source away this long puts it on air
};

// A copy of `l` (its codec parameters copied).
source_layout copy_of(const source_layout& l);

// Empty when packets of `in` can go to muxers opened for `muxed` unchanged: the same tracks
// in the same order with the same codecs, picture sizes and formats, frame rates, sample
// rates and channels, and codec headers of the same form (H.264/HEVC as Annex B or as
// avcC/hvcC, AAC with or without ADTS). Otherwise what differs, for a person.
std::string misfit(const source_layout& muxed, const source_layout& in);

// What to put before each keyframe of `in`'s track so that a decoder set up by `muxed`'s
// codec header decodes it: its own H.264/HEVC parameter sets, in the form of its packets,
// when its codec header differs; empty when nothing is needed. One entry per track.
std::vector<std::vector<uint8_t>> parameter_sets(const source_layout& muxed,
                                                 const source_layout& in);

// The index of the track that sets switch points (the video; -1: audio only, any packet).
int switch_track(const source_layout& l);

}  // namespace gordo
