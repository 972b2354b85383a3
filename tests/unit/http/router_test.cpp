// Which handler each request on the viewer port goes to.
#include "gordo/http/router.h"

#include <gtest/gtest.h>

#include <string>

namespace gordo {
namespace {

route routed(const std::string& head) {
  static std::string keep;  // the request's views point into it
  keep = head;
  http_request req;
  EXPECT_EQ(parse_http_request(keep, req), http_parse::complete) << head;
  return route_request(req);
}

TEST(router, players_watch_with_get_and_head) {
  route r = routed("GET /live.ts HTTP/1.1\r\nHost: tv\r\n\r\n");
  EXPECT_EQ(r.kind, route::watch);
  EXPECT_FALSE(r.head_only);
  EXPECT_FALSE(r.icy);
  r = routed("HEAD /live.ts HTTP/1.1\r\nHost: tv\r\n\r\n");
  EXPECT_EQ(r.kind, route::watch);
  EXPECT_TRUE(r.head_only);
  EXPECT_TRUE(routed("GET /radio.mp3 HTTP/1.0\r\nicy-metadata: 1\r\n\r\n").icy);
  EXPECT_FALSE(routed("GET /radio.mp3 HTTP/1.0\r\nIcy-MetaData: 0\r\n\r\n").icy);
}

TEST(router, encoders_push_with_put_post_and_source) {
  for (const char* method : {"PUT", "POST", "SOURCE"})
    EXPECT_EQ(routed(std::string(method) + " /in.ts HTTP/1.1\r\nHost: tv\r\n\r\n").kind,
              route::push)
        << method;
}

TEST(router, icecast_metadata_updates_need_all_three_fields) {
  route r =
      routed("GET /admin/metadata?mode=updinfo&mount=/radio.mp3&song=A%20B+C HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.kind, route::metadata);
  EXPECT_EQ(r.mount, "/radio.mp3");
  EXPECT_EQ(r.title, "A B C");
  EXPECT_EQ(
      routed("GET /admin/metadata?mode=updinfo&mount=/radio.mp3&song= HTTP/1.0\r\n\r\n").title, "");
  for (const char* query :
       {"mode=updinfo&mount=/r.mp3", "mode=other&mount=/r.mp3&song=x", "mode=updinfo&mount=&song=x",
        "mount=/r.mp3&song=x", "mode=updinfo&mount=/r.mp3&song=%zz"}) {
    r = routed(std::string("GET /admin/metadata?") + query + " HTTP/1.0\r\n\r\n");
    EXPECT_EQ(r.kind, route::refuse) << query;
    EXPECT_EQ(r.refused, answer::bad_metadata) << query;
  }
  // Only GET updates; a HEAD of the path is a mount like any other (there is none).
  EXPECT_EQ(routed("HEAD /admin/metadata?mode=updinfo&mount=/r&song=x HTTP/1.0\r\n\r\n").kind,
            route::watch);
}

TEST(router, other_methods_are_refused_with_405) {
  for (const char* method : {"DELETE", "PATCH", "BREW"}) {
    route r = routed(std::string(method) + " /live.ts HTTP/1.1\r\nHost: tv\r\n\r\n");
    EXPECT_EQ(r.kind, route::refuse) << method;
    EXPECT_EQ(r.refused, answer::bad_method) << method;
  }
}

TEST(router, options_is_a_cors_preflight_for_any_path) {
  for (const char* path : {"/live.ts", "/live.m3u8", "/live.ts/index.m3u8", "/nothing"}) {
    route r = routed(std::string("OPTIONS ") + path + " HTTP/1.1\r\nHost: tv\r\n\r\n");
    EXPECT_EQ(r.kind, route::refuse) << path;
    EXPECT_EQ(r.refused, answer::preflight) << path;
  }
}

TEST(router, hls_resources_by_their_last_component) {
  route r = routed("GET /live.m3u8?token=ab&expires=9 HTTP/1.1\r\nHost: tv\r\n\r\n");
  ASSERT_EQ(r.kind, route::hls);
  EXPECT_EQ(r.target.kind, hls_kind::multivariant);
  EXPECT_EQ(r.target.mount, "/live.m3u8");
  EXPECT_EQ(r.target.query, "token=ab&expires=9");

  r = routed(
      "GET /tv/live.ts/index.m3u8?_HLS_msn=12&token=ab&_HLS_part=3&_HLS_skip=YES "
      "HTTP/1.1\r\nHost: tv\r\n\r\n");
  ASSERT_EQ(r.kind, route::hls);
  EXPECT_EQ(r.target.kind, hls_kind::playlist);
  EXPECT_EQ(r.target.mount, "/tv/live.ts");
  EXPECT_EQ(r.target.want_msn, 12u);
  EXPECT_EQ(r.target.want_part, 3u);
  EXPECT_TRUE(r.target.skip);
  EXPECT_FALSE(r.target.bad_query);
  EXPECT_EQ(r.target.query, "token=ab") << "the _HLS_ parameters are not carried on";

  r = routed("HEAD /live.ts/mx5s-41.ts HTTP/1.1\r\nHost: tv\r\n\r\n");
  ASSERT_EQ(r.kind, route::hls);
  EXPECT_TRUE(r.head_only);
  EXPECT_EQ(r.target.kind, hls_kind::segment);
  EXPECT_EQ(r.target.run, "mx5s");
  EXPECT_EQ(r.target.msn, 41u);
  EXPECT_EQ(r.target.extension, ".ts");

  r = routed("GET /live.mp4/mx5s-41.2.m4s HTTP/1.1\r\nHost: tv\r\n\r\n");
  ASSERT_EQ(r.kind, route::hls);
  EXPECT_EQ(r.target.kind, hls_kind::part);
  EXPECT_EQ(r.target.msn, 41u);
  EXPECT_EQ(r.target.part, 2u);
  EXPECT_EQ(r.target.extension, ".m4s");

  r = routed("GET /live.mp4/mx5s-init3.mp4 HTTP/1.1\r\nHost: tv\r\n\r\n");
  ASSERT_EQ(r.kind, route::hls);
  EXPECT_EQ(r.target.kind, hls_kind::init);
  EXPECT_EQ(r.target.part, 3u);
}

TEST(router, hls_queries_that_are_not_numbers_are_bad) {
  for (const char* q : {"_HLS_msn=x", "_HLS_msn=-1", "_HLS_part=2", "_HLS_msn=1&_HLS_part=a",
                        "_HLS_msn=99999999999999999999999"}) {
    route r = routed(std::string("GET /a.ts/index.m3u8?") + q + " HTTP/1.1\r\nHost: tv\r\n\r\n");
    ASSERT_EQ(r.kind, route::hls) << q;
    EXPECT_TRUE(r.target.bad_query) << q;
  }
}

TEST(router, paths_that_only_look_like_hls_are_watched) {
  for (const char* path : {"/live.ts", "/cam/front.ts", "/a/-1.ts", "/a/x-.ts", "/a/x-1.flv",
                           "/a/x-1.2.3.ts", "/a/x-initz.mp4"}) {
    route r = routed(std::string("GET ") + path + " HTTP/1.1\r\nHost: tv\r\n\r\n");
    EXPECT_EQ(r.kind, route::watch) << path;
  }
}

TEST(router, pages_have_their_own_paths) {
  route r = routed("GET / HTTP/1.1\r\nHost: tv\r\n\r\n");
  EXPECT_EQ(r.kind, route::page);
  EXPECT_EQ(r.which_page, page_kind::list);
  r = routed("HEAD /live.ts/player HTTP/1.1\r\nHost: tv\r\n\r\n");
  EXPECT_EQ(r.kind, route::page);
  EXPECT_EQ(r.which_page, page_kind::player);
  EXPECT_EQ(r.mount, "/live.ts");
  EXPECT_TRUE(r.head_only);
  r = routed("GET /_gordo/0123456789ab/player.js HTTP/1.1\r\nHost: tv\r\n\r\n");
  EXPECT_EQ(r.kind, route::page);
  EXPECT_EQ(r.which_page, page_kind::file);
  // Not pages: a mount, HLS beside a mount, "/player" alone (no mount before it).
  EXPECT_EQ(routed("GET /live.ts HTTP/1.1\r\nHost: tv\r\n\r\n").kind, route::watch);
  EXPECT_EQ(routed("GET /live.ts/index.m3u8 HTTP/1.1\r\nHost: tv\r\n\r\n").kind, route::hls);
  EXPECT_EQ(routed("GET /player HTTP/1.1\r\nHost: tv\r\n\r\n").kind, route::watch);
  EXPECT_EQ(routed("PUT / HTTP/1.1\r\nHost: tv\r\nContent-Length: 0\r\n\r\n").kind, route::push);
}

}  // namespace
}  // namespace gordo
