// model: service_selects, the one Service-selector match (the map, the CLI's cluster-IP
// refusal and recommend's declared Services use it).
#include <gtest/gtest.h>

#include "model/objects.h"

namespace {

using stockade::Labels;
using stockade::Service;

TEST(ServiceSelects, SameNamespaceAndEveryLabel) {
  Service svc;
  svc.ns = "shop";
  svc.name = "web";
  svc.selector = Labels{{"app", "web"}, {"tier", "front"}};
  Labels pod{{"app", "web"}, {"tier", "front"}, {"pod-template-hash", "abc"}};
  EXPECT_TRUE(stockade::service_selects(svc, "shop", pod));
  EXPECT_FALSE(stockade::service_selects(svc, "other", pod));  // another namespace
  EXPECT_FALSE(stockade::service_selects(svc, "shop", Labels{{"app", "web"}}));
  EXPECT_FALSE(stockade::service_selects(svc, "shop", Labels{{"app", "web"}, {"tier", "back"}}));
}

TEST(ServiceSelects, NoSelectorOrAnEmptyOneSelectsNothing) {
  Service svc;
  svc.ns = "shop";
  EXPECT_FALSE(stockade::service_selects(svc, "shop", Labels{{"app", "web"}}));
  svc.selector = Labels{};
  EXPECT_FALSE(stockade::service_selects(svc, "shop", Labels{{"app", "web"}}));
  EXPECT_FALSE(stockade::service_selects(svc, "shop", Labels{}));
}

}  // namespace
