#include "gordo/server/admin.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <string>

#include "gordo/net/http_request.h"
#include "gordo/net/http_response.h"

namespace gordo {

namespace {

constexpr int poll_ms = 200;      // how soon stop() is noticed
constexpr int request_ms = 2000;  // a client has this long to send its request head
constexpr size_t max_request = 8192;

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

admin::admin(address& at, snapshot_fn snapshot, std::shared_ptr<const htpasswd> users)
    : sock_(at), snapshot_(std::move(snapshot)), users_(std::move(users)) {}

admin::~admin() { stop(); }

void admin::start() { thread_ = std::thread([this] { run(); }); }

void admin::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void admin::run() {
  pollfd p{.fd = sock_.fd(), .events = POLLIN, .revents = 0};
  while (!stop_.load()) {
    if (poll(&p, 1, poll_ms) != 1) continue;
    int fd = accept4(sock_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // EMFILE and friends: the connection waits; viewers come first
    timeval tv{.tv_sec = request_ms / 1000, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    serve(fd);
    close(fd);
  }
}

void admin::serve(int fd) {
  std::string text;
  char buf[2048];
  http_request req;
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;  // gone, or too slow
    text.append(buf, static_cast<size_t>(n));
    http_parse r = parse_http_request(text, req);
    if (r == http_parse::complete) break;
    if (r == http_parse::bad_host) return send_all(fd, http_error(400, http_parse_error(r)));
    if (r != http_parse::incomplete || text.size() > max_request)
      return send_all(fd, http_error(400, "malformed HTTP request"));
  }
  if (req.method != "GET" && req.method != "HEAD")
    return send_all(fd, http_error(405, "only GET and HEAD are allowed", "Allow: GET, HEAD\r\n"));
  if (users_) {
    auto [user, password] = htpasswd::credentials(req.header("authorization"));
    if (!users_->check(user, password)) {
      ++auth_failures_;
      spdlog::warn("admin: {} refused for user '{}'", req.path, user);
      return send_all(fd, http_error(401, "this needs a user and password",
                                     "WWW-Authenticate: Basic realm=\"gordo admin\"\r\n"));
    }
  }
  std::string out;
  if (req.path == "/stats")
    out = http_response(200, "application/json", stats_json(snapshot_()));
  else if (req.path == "/metrics")
    out = http_response(200, "text/plain; version=0.0.4; charset=utf-8", stats_prometheus(snapshot_()));
  else
    return send_all(fd, http_error(404, "try /stats or /metrics"));
  if (req.method == "HEAD") out.resize(out.find("\r\n\r\n") + 4);
  send_all(fd, out);
}

}  // namespace gordo
