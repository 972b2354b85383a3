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
  for (const char* method : {"DELETE", "OPTIONS", "PATCH", "BREW"}) {
    route r = routed(std::string(method) + " /live.ts HTTP/1.1\r\nHost: tv\r\n\r\n");
    EXPECT_EQ(r.kind, route::refuse) << method;
    EXPECT_EQ(r.refused, answer::bad_method) << method;
  }
}

}  // namespace
}  // namespace gordo
