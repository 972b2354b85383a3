#include "gordo/net/icy.h"

namespace gordo {

std::string icy_block(std::string_view title) {
  constexpr std::string_view head = "StreamTitle='";
  constexpr std::string_view tail = "';";
  constexpr size_t max_text = 255 * 16 - head.size() - tail.size();
  std::string text;
  for (char ch : title) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) continue;  // no NUL, CR, LF...
    if (text.size() == max_text) break;
    text += ch;
  }
  std::string body = std::string(head) + text + std::string(tail);
  size_t blocks = (body.size() + 15) / 16;
  std::string out(1, static_cast<char>(blocks));
  out += body;
  out.resize(1 + blocks * 16, '\0');
  return out;
}

}  // namespace gordo
