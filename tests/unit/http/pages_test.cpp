// The viewer port's pages and the files embedded from www/.
#include "gordo/http/pages.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "gordo/http/www.h"

namespace gordo {
namespace {

TEST(pages, player_mount_is_the_path_before_player) {
  EXPECT_EQ(player_mount("/live.ts/player"), "/live.ts");
  EXPECT_EQ(player_mount("/a/b.mp4/player"), "/a/b.mp4");
  EXPECT_EQ(player_mount("/player"), std::nullopt);
  EXPECT_EQ(player_mount("/live.ts/player.js"), std::nullopt);
  EXPECT_EQ(player_mount("/live.ts"), std::nullopt);
}

TEST(pages, mount_names_are_escaped) {
  page_mount m;
  m.path = "/<b>\"x\"&.ts";
  m.content_type = "video/mp2t";
  std::string list = mount_list_page({m});
  EXPECT_EQ(list.find("<b>"), std::string::npos);
  EXPECT_NE(list.find("/&lt;b&gt;&quot;x&quot;&amp;.ts"), std::string::npos);
  m.path = "/</script><script>alert(1)</script>.ts";
  std::string player = player_page(m);
  EXPECT_EQ(player.find("</script><script>alert"), std::string::npos);
  EXPECT_NE(player.find("\\u003c/script>"), std::string::npos);
}

TEST(pages, the_list_says_format_state_and_viewers) {
  page_mount a{"/live.ts", "video/mp2t", "/live.m3u8", "avc1.64001f", true, 3};
  page_mount b{"/radio.mp3", "audio/mpeg", "", "", false, 0};
  std::string list = mount_list_page({a, b});
  EXPECT_NE(list.find("<a href=\"/live.ts/player\">/live.ts</a>"), std::string::npos);
  EXPECT_NE(list.find("MPEG-TS, HLS"), std::string::npos);
  EXPECT_NE(list.find("<td class=\"viewers\">3</td>"), std::string::npos);
  EXPECT_NE(list.find("<td class=\"offline\">offline</td>"), std::string::npos);
  std::string player = player_page(a);
  EXPECT_NE(player.find("\"codecs\":\"avc1.64001f\""), std::string::npos);
  EXPECT_NE(player.find(std::string(www_by_name("player.js")->url)), std::string::npos);
}

TEST(www, every_file_is_embedded_at_a_url_naming_its_content) {
  std::set<std::string_view> urls;
  for (const www_file& f : www_files()) {
    EXPECT_EQ(f.url.substr(0, www_prefix.size()), www_prefix) << f.name;
    EXPECT_EQ(f.url.size(), www_prefix.size() + 13 + f.name.size()) << f.url;
    EXPECT_TRUE(urls.insert(f.url).second) << f.url;
    EXPECT_FALSE(f.body.empty()) << f.name;
    EXPECT_EQ(www_by_url(f.url), &f);
  }
  for (const char* name :
       {"player.js", "pages.css", "dashboard.html", "dashboard.js", "vendor/hls.js/hls.min.js",
        "vendor/mpegts.js/mpegts.js", "vendor/uplot/uPlot.iife.min.js", "vendor/uplot/LICENSE"})
    EXPECT_NE(www_by_name(name), nullptr) << name;
  EXPECT_EQ(www_by_name("player.js")->type, "text/javascript; charset=utf-8");
  // The dashboard names uPlot's URL, not a placeholder.
  std::string_view dashboard = www_by_name("dashboard.html")->body;
  EXPECT_EQ(dashboard.find("@URL:"), std::string_view::npos);
  EXPECT_NE(dashboard.find(www_by_name("vendor/uplot/uPlot.iife.min.js")->url),
            std::string_view::npos);
  EXPECT_EQ(www_by_url("/_gordo/000000000000/player.js"), nullptr);
}

}  // namespace
}  // namespace gordo
