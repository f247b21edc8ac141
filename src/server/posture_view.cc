#include "server/posture_view.h"

#include "posture/posture.h"

namespace stockade::server {

Result<std::shared_ptr<const std::string>> PostureView::json(const Snapshot& snap) {
  const std::string day = posture::today_utc();
  std::lock_guard lock(mu_);
  if (body_ && generation_ == snap.generation && day_ == day) return body_;
  posture::ScanOptions options;
  options.today = day;
  auto report = posture::scan(snap.state, *snap.engine, options);
  if (!report) return tl::unexpected<Error>(report.error());
  body_ = std::make_shared<const std::string>(posture::render_json(*report));
  generation_ = snap.generation;
  day_ = day;
  return body_;
}

}  // namespace stockade::server
