#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "load/stream_viewer.h"

namespace gordo::load {

int report_stream(const stream_options& o, const std::vector<stream_viewer>& viewers,
                  const stream_window& w) {
  double window = w.seconds;
  std::vector<double> rates, ttfb, tkey, key_packet, stream_rates, handshakes;
  unsigned failures = 0, early = 0, ok = 0, receiving = 0, checked = 0, handshake_failures = 0;
  unsigned no_key = 0, broken = 0;
  uint64_t cc_breaks = 0, pcr_jumps = 0;
  std::string first_error;
  for (const stream_viewer& v : viewers) {
    if (v.handshake >= 0) handshakes.push_back(v.handshake * 1e3);
    handshake_failures += v.handshake_failed;
    if (v.failed) {
      ++failures;
      if (first_error.empty()) first_error = v.error;
      continue;
    }
    if (v.closed_early) ++early;
    ++ok;
    checked += v.checked;
    if (v.first_byte >= 0) ttfb.push_back(v.first_byte * 1e3);
    if (v.keyframe >= 0) {
      tkey.push_back(v.keyframe * 1e3);
      key_packet.push_back(static_cast<double>(v.keyframe_packet));
    } else if (v.checked || !o.tls) {
      ++no_key;  // it looked (unverified TLS viewers do not)
    }
    if (v.continuity) {
      cc_breaks += v.continuity->breaks();
      pcr_jumps += v.rate->jumps();
      broken += v.continuity->breaks() + v.rate->jumps() > 0;
    }
    if (window > 0)
      rates.push_back(static_cast<double>(v.body_bytes - v.bytes_at_mark) * 8 / window);
    receiving += window > 0 && v.body_bytes > v.bytes_at_mark;
    // The stream's rate as its PCRs say, from viewers whose PCRs span a second or more (a
    // viewer far behind covers less stream time than the window, but at the same rate).
    if (v.rate && v.rate->seconds() >= std::min(1.0, 0.5 * window))
      stream_rates.push_back(v.rate->bits_per_s());
  }
  // "Behind" is against the source's rate, never the viewers': against their median a
  // server that is slow for everyone would show nobody behind.
  double expected = o.bitrate > 0 ? o.bitrate : percentile(stream_rates, 50);
  const char* expected_from = o.bitrate > 0 ? "bitrate" : stream_rates.empty() ? nullptr : "stream";
  double behind = NAN;
  if (expected_from) {
    behind = 0;
    for (double r : rates) behind += r < 0.95 * expected;
  } else if (window > 0 && !rates.empty()) {
    fmt::print(stderr,
               "gordo-load: no MPEG-TS PCRs to measure the stream's rate by; give --bitrate to "
               "count the viewers behind it\n");
  }
  double aggregate = 0;
  for (double r : rates) aggregate += r;
  client_load client;
  client.limit = o.client_limit;
  client.cpu_pct = window > 0 ? w.load_cpu_s / window * 100 : 0;
  // No window (every viewer failed before it): no figures, not the core's since boot.
  if (w.load_core >= 0 && window > 0)
    client.core_busy_pct = busy_pct(w.load_core_begin, w.load_core_end);
  // A ramp of a second or more: shorter ones are a few clock ticks, too coarse to judge.
  if (w.ramp_seconds >= 1) {
    client.ramp_cpu_pct = w.ramp_cpu_s / w.ramp_seconds * 100;
    if (w.load_core >= 0) client.ramp_core_busy_pct = busy_pct(w.ramp_core_begin, w.ramp_core_end);
  }
  auto num = number;
  std::vector<report_row> rows = {
      {"viewers", fmt::format("{}", o.viewers), fmt::format("{}", o.viewers)},
      {"ok", fmt::format("{}", ok), fmt::format("{}", ok)},
      {"receiving", fmt::format("{}", receiving), fmt::format("{}", receiving)},
      {"failures", fmt::format("{}", failures), fmt::format("{}", failures)},
      {"closed_early", fmt::format("{}", early), fmt::format("{}", early)},
      {"window_s", num(window, 1), num(window, 3)},
      {"expected_mbps", num(expected / 1e6, 3), num(expected / 1e6, 4)},
      {"expected_from", expected_from ? expected_from : "-",
       expected_from ? fmt::format("\"{}\"", expected_from) : "null"},
      {"rate_p1_mbps", num(percentile(rates, 1) / 1e6, 3), num(percentile(rates, 1) / 1e6, 4)},
      {"rate_p50_mbps", num(percentile(rates, 50) / 1e6, 3), num(percentile(rates, 50) / 1e6, 4)},
      {"behind", num(behind, 0), num(behind, 0)},
      {"aggregate_gbps", num(aggregate / 1e9, 2), num(aggregate / 1e9, 4)},
      {"ttfb_p50_ms", num(percentile(ttfb, 50), 1), num(percentile(ttfb, 50), 2)},
      {"ttfb_p99_ms", num(percentile(ttfb, 99), 1), num(percentile(ttfb, 99), 2)},
      {"keyframe_p50_ms", num(percentile(tkey, 50), 1), num(percentile(tkey, 50), 2)},
      {"keyframe_p99_ms", num(percentile(tkey, 99), 1), num(percentile(tkey, 99), 2)},
      {"keyframe_packet_p99", num(percentile(key_packet, 99), 0),
       num(percentile(key_packet, 99), 0)},
      {"no_keyframe", fmt::format("{}", no_key), fmt::format("{}", no_key)},
      {"verified", fmt::format("{}", checked), fmt::format("{}", checked)},
      {"verified_broken", fmt::format("{}", broken), fmt::format("{}", broken)},
      {"cc_breaks", fmt::format("{}", cc_breaks), fmt::format("{}", cc_breaks)},
      {"pcr_jumps", fmt::format("{}", pcr_jumps), fmt::format("{}", pcr_jumps)},
  };
  // Behind live: how far each sample is above the freshest (the 1st percentile) of the run.
  // The offsets themselves (JSON only) compare runs of several processes side by side.
  std::vector<double> offsets = w.live_offset_ms;
  double fresh = percentile(offsets, 1);  // not the least: one odd sample would shift all
  double least = offsets.empty() ? NAN : *std::min_element(offsets.begin(), offsets.end());
  double latest = offsets.empty() ? NAN : *std::max_element(offsets.begin(), offsets.end());
  double off50 = percentile(offsets, 50), off99 = percentile(offsets, 99);
  rows.insert(rows.end(), {{"behind_live_p50_ms", num(off50 - fresh, 0), num(off50 - fresh, 1)},
                           {"behind_live_p99_ms", num(off99 - fresh, 0), num(off99 - fresh, 1)},
                           {"behind_live_max_ms", num(latest - fresh, 0), num(latest - fresh, 1)},
                           {"live_offset_min_ms", "", num(least, 1)},
                           {"live_offset_p1_ms", "", num(fresh, 1)},
                           {"live_offset_p50_ms", "", num(off50, 1)},
                           {"live_offset_p99_ms", "", num(off99, 1)},
                           {"live_offset_max_ms", "", num(latest, 1)}});
  client_rows(rows, client);
  if (!o.server_pids.empty()) {
    // Several processes (a TLS proxy and the server behind it): summed, and each.
    double cpu_sum = 0, rss_sum = 0;
    std::string each, each_json;
    for (size_t i = 0; i < o.server_pids.size(); ++i) {
      double c = window > 0 && i < w.server_begin.size()
                     ? (w.server_end[i].cpu_s - w.server_begin[i].cpu_s) / window * 100
                     : NAN;
      cpu_sum += c;
      rss_sum += static_cast<double>(w.server_end[i].rss_kib) / 1024;
      each += fmt::format("{}{}", i ? "+" : "", number(c, 1));
      each_json += fmt::format("{}{}", i ? ", " : "", number(c, 1));
    }
    rows.push_back({"server_cpu_pct", num(cpu_sum, 1), num(cpu_sum, 1)});
    rows.push_back({"server_rss_mib", num(rss_sum, 1), num(rss_sum, 2)});
    if (o.server_pids.size() > 1)
      rows.push_back({"server_cpu_pct_each", each, fmt::format("[{}]", each_json)});
  }
  if (o.server_core >= 0) {
    double busy = window > 0 ? busy_pct(w.core_begin, w.core_end) : NAN;
    rows.push_back({"server_core_busy_pct", num(busy, 1), num(busy, 1)});
  }
  if (o.tls) {
    double overhead =
        w.tls_plain > 0
            ? (static_cast<double>(w.tls_wire) / static_cast<double>(w.tls_plain) - 1) * 100
            : NAN;
    rows.insert(rows.end(), {{"handshake_failures", fmt::format("{}", handshake_failures),
                              fmt::format("{}", handshake_failures)},
                             {"handshake_p50_ms", num(percentile(handshakes, 50), 1),
                              num(percentile(handshakes, 50), 2)},
                             {"handshake_p99_ms", num(percentile(handshakes, 99), 1),
                              num(percentile(handshakes, 99), 2)},
                             {"tls_overhead_pct", num(overhead, 2), num(overhead, 3)},
                             {"tls_protocol", w.tls_protocol.empty() ? "-" : w.tls_protocol,
                              fmt::format("\"{}\"", w.tls_protocol)}});
  }
  print_report(rows, o.json, "", first_error);
  if (o.tls && !o.json)
    fmt::print(
        "TLS: {} viewers decrypted and checked what they received (keyframe, rate); the others "
        "counted TLS records as received, without decrypting (tls_overhead_pct more than the "
        "stream's bytes, as measured on the checked ones). TTFB includes the handshake.\n",
        checked);
  if (ok == 0) return 1;  // the server down, every request refused
  return client_verdict(client, o.strict);
}

}  // namespace gordo::load
