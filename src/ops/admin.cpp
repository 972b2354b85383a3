#include "gordo/ops/admin.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "gordo/http/session.h"
#include "gordo/http/www.h"
#include "gordo/net/http_response.h"
#include "gordo_version.h"

namespace gordo {

namespace {

using namespace std::chrono_literals;

constexpr int poll_ms = 200;       // how soon stop() is noticed
constexpr auto request_time = 2s;  // to send a request head, or to read an answer
constexpr auto linger_time = 1s;   // after an answer, to read what the client still sends
constexpr size_t max_head = http_session::buffer_size;  // the viewers' port's limit
constexpr size_t max_conns = 128;                       // more wait in the listen backlog
// Password checks: two threads; one address has one check at a time (so it holds one
// thread at most), and 16 in all wait at most (8 checks' time: 2 s at bcrypt cost 12).
constexpr unsigned check_threads = 2;
constexpr unsigned checks_per_address = 1;
constexpr size_t max_checks = 16;

// Whose guesses these are: an IPv4 address, or an IPv6 /64 (a host may take any
// address of its /64, so a finer key would give one attacker 2^64 budgets).
std::string peer_key(const sockaddr_storage& sa) {
  if (sa.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(sa);
    return std::string(reinterpret_cast<const char*>(&in.sin_addr), 4);
  }
  if (sa.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(sa);
    const char* bytes = reinterpret_cast<const char*>(&in6.sin6_addr);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) return std::string(bytes + 12, 4);
    return std::string(bytes, 8);
  }
  return {};
}

void wipe(std::string& s) {
  explicit_bzero(s.data(), s.size());
  s.clear();
}

std::string parse_error(http_parse r) {
  switch (r) {
    case http_parse::too_many_fields:
      return http_error(431, http_parse_error(r));
    case http_parse::bad_version:
      return http_error(505, http_parse_error(r));
    case http_parse::uri_too_long:
      return http_error(414, http_parse_error(r));
    default:  // malformed, Host, Content-Length
      return http_error(400, http_parse_error(r));
  }
}

}  // namespace

// One connection: its request head is read, then (with users) its credentials are
// checked, then one answer is written, then what the client still sends is read and
// dropped until it closes, so that closing does not reset the answer away.
struct admin::conn {
  enum class phase { reading, checking, writing, lingering, done };

  int fd = -1;
  uint64_t id = 0;
  std::string peer;  // peer_key()
  std::string host;  // for the log
  phase state = phase::reading;
  clock::time_point deadline;
  std::string in, out;
  size_t sent = 0;
  std::string path;
  bool head = false;
  // While checking: whose credentials, and against which file.
  std::string user, password;
  std::shared_ptr<const htpasswd> checked_with;

  ~conn() {
    wipe(password);
    if (fd >= 0) ::close(fd);
  }
};

admin::admin(address& at, snapshot_fn snapshot, std::shared_ptr<const htpasswd> users)
    : sock_(at), snapshot_(std::move(snapshot)), users_(std::move(users)) {
  // accept_all() takes connections until there are none left, without blocking.
  fcntl(sock_.fd(), F_SETFL, fcntl(sock_.fd(), F_GETFL) | O_NONBLOCK);
}

admin::~admin() {
  stop();
}

void admin::start() {
  checks_ = std::make_unique<check_pool>(check_threads, checks_per_address, max_checks);
  thread_ = std::thread([this] { run(); });
}

void admin::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  conns_.clear();
  checks_.reset();
}

void admin::set_users(std::shared_ptr<const htpasswd> users) {
  size_t count = users ? users->size() : 0;
  {
    std::lock_guard lock(users_mu_);
    next_users_ = std::move(users);
    users_changed_.store(true);
  }
  // Said once it holds: a request sent after this line meets the new users.
  if (count)
    spdlog::info("admin: {} user{} from the htpasswd file, none cached", count,
                 count == 1 ? "" : "s");
  else
    spdlog::warn(
        "admin: no htpasswd file any more; /stats and /metrics are open to whoever reaches them");
}

void admin::take_new_users() {
  std::lock_guard lock(users_mu_);
  users_ = std::move(next_users_);
  users_changed_.store(false);
  cache_.clear();
}

void admin::run() {
  std::vector<pollfd> fds;
  while (!stop_.load()) {
    fds.clear();
    fds.push_back({.fd = checks_->fd(), .events = POLLIN, .revents = 0});
    // At max_conns the listener is not watched: new connections wait in its backlog.
    fds.push_back(
        {.fd = conns_.size() < max_conns ? sock_.fd() : -1, .events = POLLIN, .revents = 0});
    for (const auto& c : conns_) {
      // A connection being checked is not watched (poll would report its hang-up over
      // and over); it is answered, or found gone, when its check ends.
      short events = c->state == conn::phase::writing ? POLLOUT : POLLIN;
      fds.push_back(
          {.fd = c->state == conn::phase::checking ? -1 : c->fd, .events = events, .revents = 0});
    }
    if (poll(fds.data(), fds.size(), poll_ms) < 0) continue;
    // Sockets first, by index into the conns polled; new ones are appended after them.
    const size_t polled = conns_.size();
    for (size_t i = 0; i < polled; ++i) {
      conn& c = *conns_[i];
      if (!fds[i + 2].revents) continue;
      if (c.state == conn::phase::reading)
        on_read(c);
      else if (c.state == conn::phase::writing)
        on_write(c);
      else if (c.state == conn::phase::lingering)
        on_linger(c);
    }
    if (fds[0].revents)
      for (const check_pool::result& r : checks_->take()) checked(r);
    if (fds[1].revents) accept_all();
    auto now = clock::now();
    for (auto& c : conns_) expire(*c, now);
    std::erase_if(conns_, [](const auto& c) { return c->state == conn::phase::done; });
  }
}

void admin::accept_all() {
  while (conns_.size() < max_conns) {
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    int fd =
        accept4(sock_.fd(), reinterpret_cast<sockaddr*>(&sa), &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;  // EAGAIN; EMFILE and friends: the connection waits, viewers come first
    auto c = std::make_unique<conn>();
    c->fd = fd;
    c->id = next_id_++;
    c->peer = peer_key(sa);
    address a;
    a.storage = sa;
    a.len = len;
    c->host = a.host();
    c->deadline = clock::now() + request_time;
    conn& added = *c;
    conns_.push_back(std::move(c));
    on_read(added);  // the request often came with the connection
  }
}

void admin::on_read(conn& c) {
  char buf[2048];
  for (;;) {
    ssize_t n = recv(c.fd, buf, std::min(sizeof buf, max_head - c.in.size()), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      c.state = conn::phase::done;  // gone before its request was whole
      return;
    }
    c.in.append(buf, static_cast<size_t>(n));
    // The viewers' parser and limits: 414 past 4 KiB of request line, 431 past 32
    // fields or 8 KiB of head.
    http_request req;
    http_parse r = parse_http_request(c.in, req);
    if (r == http_parse::complete) return route(c, req);
    if (r != http_parse::incomplete) return answer(c, parse_error(r));
    if (c.in.size() == max_head) return answer(c, parse_error(http_parse::too_many_fields));
  }
}

void admin::route(conn& c, const http_request& req) {
  if (req.method != "GET" && req.method != "HEAD")
    return answer(c, http_error(405, "only GET and HEAD are allowed", "Allow: GET, HEAD\r\n"));
  c.path = req.path;
  c.head = req.method == "HEAD";
  // Here, when the request is whole: one sent after set_users() returned meets the new users.
  if (users_changed_.load()) take_new_users();
  if (!users_) return answer(c, page(c));
  // Not a structured binding: clang 14 cannot capture one in the lambda below.
  auto credentials = htpasswd::credentials(req.header("authorization"));
  std::string user = credentials.first, password = credentials.second;
  wipe(credentials.second);
  wipe(c.in);                                // it holds the password too
  if (user.empty()) return refuse(c, user);  // nothing to check
  if (cache_.contains(user, password, clock::now())) {
    wipe(password);
    return answer(c, page(c));
  }
  auto check = [users = users_, user, password]() mutable {
    bool ok = users->check(user, password);
    wipe(password);
    return ok;
  };
  switch (checks_->submit(c.id, c.peer, std::move(check))) {
    case check_pool::admit::queued:
      c.state = conn::phase::checking;
      c.user = std::move(user);
      c.password = std::move(password);
      c.checked_with = users_;
      return;
    case check_pool::admit::address_busy:
      wipe(password);
      spdlog::debug("admin: {} from {}: a check for this address is running; answered 503", c.path,
                    c.host);
      return answer(
          c, http_error(503, "a password check for your address is running; try again shortly",
                        "Retry-After: 1\r\n"));
    case check_pool::admit::full:
      wipe(password);
      spdlog::debug("admin: {} from {}: {} checks waiting; answered 503", c.path, c.host,
                    checks_->pending());
      return answer(c, http_error(503, "too many password checks waiting; try again shortly",
                                  "Retry-After: 1\r\n"));
  }
}

void admin::checked(const check_pool::result& r) {
  auto it =
      std::find_if(conns_.begin(), conns_.end(), [&](const auto& c) { return c->id == r.id; });
  if (it == conns_.end()) return;  // not while running: a connection being checked has no deadline
  conn& c = **it;
  if (!r.ok) {
    wipe(c.password);
    return refuse(c, c.user);
  }
  // A check against a file since replaced says nothing about the new one's passwords.
  if (c.checked_with == users_) cache_.insert(c.user, c.password, clock::now());
  wipe(c.password);
  answer(c, page(c));
}

void admin::refuse(conn& c, const std::string& user) {
  ++auth_failures_;
  spdlog::warn("admin: {} from {} refused for user '{}'", c.path, c.host, user);
  answer(c, http_error(401, "this needs a user and password",
                       "WWW-Authenticate: Basic realm=\"gordo admin\"\r\n"));
}

std::string admin::page(const conn& c) const {
  std::string out;
  if (c.path == "/stats")
    out = http_response(200, "application/json", stats_json(snapshot_()));
  else if (c.path == "/metrics")
    out = http_response(200, "text/plain; version=0.0.4; charset=utf-8",
                        stats_prometheus(snapshot_()));
  else if (const www_file* f = c.path == "/" ? www_by_name("dashboard.html") : nullptr)
    out = http_response(200, f->type, f->body);
  else if (const www_file* g = www_by_url(c.path))  // the dashboard's script, uPlot
    out = fmt::format("HTTP/1.1 200 OK\r\nServer: gordo/" GORDO_VERSION
                      "\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: {}\r\n"
                      "Connection: close\r\n\r\n{}",
                      g->type, g->body.size(), www_cache, g->body);
  else
    return http_error(404, "try / (the dashboard), /stats or /metrics");
  if (c.head) out.resize(out.find("\r\n\r\n") + 4);
  return out;
}

void admin::answer(conn& c, std::string response) {
  c.out = std::move(response);
  c.sent = 0;
  c.state = conn::phase::writing;
  c.deadline = clock::now() + request_time;
  on_write(c);
}

void admin::on_write(conn& c) {
  while (c.sent < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      c.state = conn::phase::done;
      return;
    }
    c.sent += static_cast<size_t>(n);
  }
  // Closing with unread bytes in the receive queue sends RST, which can destroy the
  // answer before the client reads it (a 431 for a head still being sent): half-close
  // and read until the client closes too, as the viewers' port does.
  shutdown(c.fd, SHUT_WR);
  c.state = conn::phase::lingering;
  c.deadline = clock::now() + linger_time;
  on_linger(c);
}

void admin::on_linger(conn& c) {
  char buf[4096];
  for (int reads = 0; reads < 16; ++reads) {  // then the others' turn; linger_time bounds the rest
    ssize_t n = recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    c.state = conn::phase::done;  // the client closed (or failed): so can we
    return;
  }
}

void admin::expire(conn& c, clock::time_point now) {
  if (c.state == conn::phase::checking || c.state == conn::phase::done || now < c.deadline) return;
  if (c.state == conn::phase::reading)
    answer(c, http_error(408,
                         "the request head did not arrive in time"));  // with a deadline of its own
  else
    c.state = conn::phase::done;  // too slow to read its answer, or still sending after it
}

}  // namespace gordo
