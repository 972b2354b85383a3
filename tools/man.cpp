// gordo-man TEMPLATE: a man page's scdoc source (docs/man), with its @OPTIONS@ line replaced
// by gordo's flags, @LOAD_OPTIONS@ by gordo-load's, and @KEYS@ and @MOUNT_KEYS@ by the config
// file's keys, each with the help text and default --help prints: the pages are made from the
// flag tables themselves and cannot drift from them. Built and run by meson when scdoc is
// installed (not installed).
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "gordo/ops/config_flags.h"
#include "load/flags.h"

namespace {

// scdoc's markup characters, written literally (and a leading '-', which would start a list).
// A leading '.' or '\'' would make a roff request of the line, which scdoc cannot escape.
std::string escaped(std::string_view text) {
  if (text.starts_with('.') || text.starts_with('\''))
    throw std::runtime_error(fmt::format("help text may not start with {}: {}", text[0], text));
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '_' || c == '\\' || (c == '-' && out.empty())) out += '\\';
    out += c;
  }
  return out;
}

// A program's flags, in --help's order.
std::vector<cxxopts::HelpOptionDetails> flags(const cxxopts::Options& table) {
  return table.group_help("").options;
}

// One of gordo's flags, by its text ("--max-lag").
const cxxopts::HelpOptionDetails& flag(std::string_view flag_text) {
  static const auto all = flags(gordo::flag_table());
  for (const auto& f : all)
    if (!f.l.empty() && "--" + f.l.front() == flag_text) return f;
  throw std::runtime_error(fmt::format("no flag {}", flag_text));
}

std::string described(const cxxopts::HelpOptionDetails& f) {
  bool shown = f.has_default && !f.is_boolean && !f.default_value.empty();
  bool stop = !f.desc.empty() && f.desc.back() != '.';
  return fmt::format("\t{}{}{}\n\n", escaped(f.desc), stop ? "." : "",
                     shown ? fmt::format(" Default: {}.", escaped(f.default_value)) : "");
}

std::string options_of(const cxxopts::Options& table) {
  std::string out;
  for (const auto& f : flags(table)) {
    out += fmt::format("{}*--{}*{}\n{}", f.s.empty() ? "" : fmt::format("*-{}*, ", f.s),
                       f.l.front(), f.is_boolean ? "" : " _value_", described(f));
  }
  return out;
}

std::string options() {
  return options_of(gordo::flag_table());
}

std::string load_options() {
  return options_of(gordo::load::flag_table());
}

std::string keys() {
  std::string out;
  for (auto key : gordo::file_keys()) {
    std::string flag_text = gordo::flag_of(key);
    out += fmt::format("*{}* (*{}*)\n", escaped(key), flag_text) + described(flag(flag_text));
  }
  return out;
}

std::string mount_keys() {
  std::string out;
  for (auto [key, flag_text] : gordo::mount_file_keys()) {
    out += fmt::format("*{}* (*{}*)\n", escaped(key), flag_text);
    // path is not --mount's PATH=SOURCE: the table's input names the source.
    out += key == "path" ? "\tThe path viewers request (required), e.g. /live.ts; its extension "
                           "names the format.\n\n"
                         : described(flag(flag_text));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: gordo-man TEMPLATE.scd > PAGE.scd\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "gordo-man: cannot read " << argv[1] << '\n';
    return 1;
  }
  const std::map<std::string, std::string (*)()> parts = {{"@OPTIONS@", options},
                                                          {"@LOAD_OPTIONS@", load_options},
                                                          {"@KEYS@", keys},
                                                          {"@MOUNT_KEYS@", mount_keys}};
  try {
    for (std::string line; std::getline(in, line);) {
      auto part = parts.find(line);
      if (part == parts.end() && line.size() > 2 && line.front() == '@' && line.back() == '@')
        throw std::runtime_error("unknown placeholder " + line);
      if (part == parts.end())
        std::cout << line << '\n';
      else
        std::cout << part->second();
    }
  } catch (const std::exception& e) {
    std::cerr << "gordo-man: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
