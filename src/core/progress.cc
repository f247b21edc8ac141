#include "core/progress.h"

#include <unistd.h>

#include <cmath>
#include <utility>

#include "core/display.h"

namespace stockade {

namespace {

std::string bytes_text(uint64_t n) {
  char buf[32];
  if (n < (uint64_t{1} << 20))
    std::snprintf(buf, sizeof buf, "%llu KiB", static_cast<unsigned long long>(n >> 10));
  else if (n < (uint64_t{10} << 30))
    std::snprintf(buf, sizeof buf, "%.0f MiB", static_cast<double>(n) / (1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(n) / (1 << 30));
  return buf;
}

std::string count_text(uint64_t n) {
  char buf[32];
  if (n < 10000)
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
  else if (n < 10000000)
    std::snprintf(buf, sizeof buf, "%.0fk", static_cast<double>(n) / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.1fM", static_cast<double>(n) / 1e6);
  return buf;
}

}  // namespace

bool progress_wanted(bool quiet) {
  return !quiet && ::isatty(STDERR_FILENO) == 1;
}

ProgressMeter::ProgressMeter(std::string what, bool enabled, std::FILE* out,
                             std::chrono::milliseconds interval)
    : what_(display_text(what)), enabled_(enabled), out_(out), interval_(interval) {
  start_ = std::chrono::steady_clock::now();
  last_ = start_ - interval_;  // the first update draws at once
}

std::string ProgressMeter::line(const std::string& what, uint64_t bytes, uint64_t total,
                                uint64_t records, double seconds, const std::string& unit) {
  std::string s = what + ": " + bytes_text(bytes);
  if (total > 0) {
    s += " of " + bytes_text(total);
    char pct[16];
    std::snprintf(
        pct, sizeof pct, " (%d%%)",
        static_cast<int>(100.0 * static_cast<double>(bytes) / static_cast<double>(total)));
    s += pct;
  }
  s += ", " + count_text(records) + " " + unit;
  if (seconds > 0.05 && bytes > 0) {
    double rate = static_cast<double>(bytes) / seconds;
    s += ", " + bytes_text(static_cast<uint64_t>(rate)) + "/s";
    if (total > bytes) {
      char left[32];
      std::snprintf(left, sizeof left, ", %.0f s left",
                    std::ceil(static_cast<double>(total - bytes) / rate));
      s += left;
    }
  }
  return s;
}

std::string ProgressMeter::list_line(const std::string& what, const ListTally& t, double seconds) {
  std::string s = what + ": kind " + std::to_string(t.kinds_done + 1) + " of " +
                  std::to_string(t.kinds_total) + " (" + t.kind + ", " + count_text(t.kind_objects);
  if (t.kind_expected > 0) s += " of " + count_text(t.kind_expected);
  s += "), " + count_text(t.objects) + " objects, " + count_text(t.pages) +
       (t.pages == 1 ? " page, " : " pages, ") + bytes_text(t.bytes);
  if (seconds > 0.05 && t.bytes > 0)
    s += ", " + bytes_text(static_cast<uint64_t>(static_cast<double>(t.bytes) / seconds)) + "/s";
  return s;
}

bool ProgressMeter::due() {
  if (!enabled_) return false;
  auto now = std::chrono::steady_clock::now();
  if (now - last_ < interval_) return false;
  last_ = now;
  return true;
}

double ProgressMeter::seconds() const {
  return std::chrono::duration<double>(last_ - start_).count();
}

void ProgressMeter::draw(const std::string& text) {
  // \r and erase to the end of the line: the line is redrawn in place.
  std::fprintf(out_, "\r\033[K%s", text.c_str());
  std::fflush(out_);
  drawn_ = true;
}

void ProgressMeter::update(uint64_t bytes, uint64_t total, uint64_t records) {
  if (due()) draw(line(what_, bytes, total, records, seconds(), unit_));
}

void ProgressMeter::finish() {
  if (!drawn_) return;
  drawn_ = false;
  std::fputs("\r\033[K", out_);
  std::fflush(out_);
}

}  // namespace stockade
