// What the detectors are told (`stockade detect`'s flags; the server's detectors take the same
// Thresholds): the counting window as text and the thresholds, described once
// (core/settings.h) and checked.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "core/settings.h"
#include "detect/detect.h"

namespace stockade::detect {

struct DetectSettings {
  std::string window = "10s";  // a duration (10s, 1m)
  Thresholds thresholds;       // all but window_ns, which `window` gives
};

// The thresholds with the window read; an error (ErrorCode::Usage) naming --window when it is
// not a positive duration.
Result<Thresholds> thresholds(const DetectSettings& s);

// Each setting as `stockade detect` takes it (--window, then the thresholds), in --help's order.
std::vector<Setting> settings(DetectSettings& s);

}  // namespace stockade::detect
