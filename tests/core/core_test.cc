#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>

#include "core/bitset.h"
#include "core/ip.h"
#include "core/labels.h"
#include "core/ports.h"

namespace stockade {
namespace {

LabelSelector sel(std::vector<SelectorRequirement> r) {
  for (auto& x : r) std::sort(x.values.begin(), x.values.end());
  return LabelSelector{std::move(r)};
}

TEST(LabelSelector, EmptyMatchesEverything) {
  EXPECT_TRUE(LabelSelector{}.matches({}));
  EXPECT_TRUE(LabelSelector{}.matches({{"a", "b"}}));
}

TEST(LabelSelector, Operators) {
  Labels l{{"app", "web"}, {"tier", "front"}};
  EXPECT_TRUE(sel({{"app", SelectorOp::In, {"web", "api"}}}).matches(l));
  EXPECT_FALSE(sel({{"app", SelectorOp::In, {"api"}}}).matches(l));
  EXPECT_FALSE(sel({{"missing", SelectorOp::In, {"x"}}}).matches(l));
  // NotIn matches when the label is absent.
  EXPECT_TRUE(sel({{"missing", SelectorOp::NotIn, {"x"}}}).matches(l));
  EXPECT_FALSE(sel({{"app", SelectorOp::NotIn, {"web"}}}).matches(l));
  EXPECT_TRUE(sel({{"tier", SelectorOp::Exists, {}}}).matches(l));
  EXPECT_FALSE(sel({{"x", SelectorOp::Exists, {}}}).matches(l));
  EXPECT_TRUE(sel({{"x", SelectorOp::DoesNotExist, {}}}).matches(l));
  EXPECT_FALSE(sel({{"app", SelectorOp::DoesNotExist, {}}}).matches(l));
  // Requirements are ANDed.
  EXPECT_FALSE(
      sel({{"app", SelectorOp::In, {"web"}}, {"tier", SelectorOp::In, {"back"}}}).matches(l));
}

TEST(LabelSelector, CanonicalIgnoresOrder) {
  auto a = sel({{"a", SelectorOp::In, {"1"}}, {"b", SelectorOp::Exists, {}}});
  auto b = sel({{"b", SelectorOp::Exists, {}}, {"a", SelectorOp::In, {"1"}}});
  EXPECT_EQ(a.canonical(), b.canonical());
  EXPECT_EQ(LabelSelector{}.canonical(), "");
}

TEST(LabelValidation, KeysAndValues) {
  EXPECT_EQ(validate_label_key("app"), "");
  EXPECT_EQ(validate_label_key("kubernetes.io/metadata.name"), "");
  EXPECT_NE(validate_label_key(""), "");
  EXPECT_NE(validate_label_key("-app"), "");
  EXPECT_NE(validate_label_key("Bad_Prefix/app"), "");
  EXPECT_NE(validate_label_key(std::string(64, 'a')), "");
  EXPECT_EQ(validate_label_value(""), "");
  EXPECT_EQ(validate_label_value("v1.2_x-y"), "");
  EXPECT_NE(validate_label_value("bad value"), "");
}

TEST(Ip, ParseAndPrint) {
  auto v4 = IpAddr::parse("10.1.2.3");
  ASSERT_TRUE(v4);
  EXPECT_FALSE(v4->v6);
  EXPECT_EQ(v4->str(), "10.1.2.3");
  auto v6 = IpAddr::parse("fd00::1");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->v6);
  EXPECT_EQ(v6->str(), "fd00::1");
  EXPECT_FALSE(IpAddr::parse("10.1.2"));
  EXPECT_FALSE(IpAddr::parse("300.1.2.3"));
  EXPECT_FALSE(IpAddr::parse(""));
  EXPECT_FALSE(IpAddr::parse(std::string(100, '1')));
}

// IPv4 text is read without inet_pton: it must accept and reject exactly what inet_pton does.
TEST(Ip, V4AgreesWithInetPton) {
  std::mt19937 rng(7);
  const char alphabet[] = "0123456789.0123456789. x";
  std::vector<std::string> cases = {"0.0.0.0",  "255.255.255.255", "256.1.1.1",   "01.1.1.1",
                                    "1.1.1.01", "1.1.1.",          ".1.1.1",      "1..1.1",
                                    "1.1.1.1.", "1.1.1.1 ",        "1.1.1",       "1234.1.1.1",
                                    "0.00.0.0", "10.0.0.255",      "9.99.199.249"};
  for (int i = 0; i < 200000; ++i) {
    std::string s;
    size_t len = 1 + rng() % 16;
    for (size_t k = 0; k < len; ++k) s += alphabet[rng() % (sizeof alphabet - 1)];
    cases.push_back(s);
  }
  for (const std::string& s : cases) {
    in_addr a{};
    bool expected = inet_pton(AF_INET, s.c_str(), &a) == 1;
    auto ip = IpAddr::parse(s);
    ASSERT_EQ(ip.has_value(), expected) << s;
    if (ip) {
      EXPECT_EQ(ip->lo, ntohl(a.s_addr)) << s;
    }
  }
}

TEST(Cidr, HostBitsAreMasked) {
  auto c = Cidr::parse("10.1.2.3/16");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->str(), "10.1.0.0/16");
  EXPECT_TRUE(c->contains(*IpAddr::parse("10.1.255.255")));
  EXPECT_FALSE(c->contains(*IpAddr::parse("10.2.0.0")));
  auto c6 = Cidr::parse("fd00::1:2/64");
  ASSERT_TRUE(c6);
  EXPECT_EQ(c6->str(), "fd00::/64");
  EXPECT_TRUE(c6->contains(*IpAddr::parse("fd00::ffff")));
  EXPECT_FALSE(c6->contains(*IpAddr::parse("fd01::1")));
}

TEST(Cidr, FamiliesDoNotMix) {
  EXPECT_FALSE(Cidr::parse("0.0.0.0/0")->contains(*IpAddr::parse("::1")));
  EXPECT_FALSE(Cidr::parse("::/0")->contains(*IpAddr::parse("1.2.3.4")));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(*IpAddr::parse("1.2.3.4")));
  EXPECT_TRUE(Cidr::parse("::/0")->contains(*IpAddr::parse("fd00::1")));
}

TEST(Cidr, Rejects) {
  EXPECT_FALSE(Cidr::parse("10.0.0.0"));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/33"));
  EXPECT_FALSE(Cidr::parse("fd00::/129"));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/"));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/a"));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/08"));
  EXPECT_TRUE(Cidr::parse("10.0.0.0/32"));
  EXPECT_TRUE(Cidr::parse("fd00::1/128"));
}

TEST(IpBlock, Except) {
  IpBlock b{*Cidr::parse("10.0.0.0/8"), {*Cidr::parse("10.1.0.0/16")}};
  EXPECT_TRUE(b.contains(*IpAddr::parse("10.2.0.1")));
  EXPECT_FALSE(b.contains(*IpAddr::parse("10.1.0.1")));
  EXPECT_FALSE(b.contains(*IpAddr::parse("11.0.0.1")));
}

TEST(Ports, Protocols) {
  EXPECT_EQ(parse_protocol("TCP"), Protocol::TCP);
  EXPECT_EQ(parse_protocol("SCTP"), Protocol::SCTP);
  EXPECT_FALSE(parse_protocol("tcp"));  // the API is case-sensitive
  EXPECT_FALSE(parse_protocol("ICMP"));
}

TEST(Ports, Names) {
  EXPECT_EQ(validate_port_name("http"), "");
  EXPECT_EQ(validate_port_name("serve-80-tcp"), "");
  EXPECT_NE(validate_port_name("80"), "");
  EXPECT_NE(validate_port_name("-http"), "");
  EXPECT_NE(validate_port_name("a--b"), "");
  EXPECT_NE(validate_port_name("HTTP"), "");
  EXPECT_NE(validate_port_name("a-very-long-port-name"), "");
}

TEST(Ports, Queries) {
  auto q = parse_port_query("tcp/80");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->protocol, Protocol::TCP);
  EXPECT_EQ(q->number, 80);
  q = parse_port_query("UDP/dns");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->protocol, Protocol::UDP);
  EXPECT_EQ(q->name, "dns");
  EXPECT_FALSE(parse_port_query("tcp/0"));
  EXPECT_FALSE(parse_port_query("tcp/65536"));
  EXPECT_FALSE(parse_port_query("icmp/1"));
  EXPECT_FALSE(parse_port_query("80"));
  EXPECT_FALSE(parse_port_query("tcp/"));
}

TEST(Bits, Operations) {
  Bits a(130), b(130);
  a.set(0);
  a.set(129);
  b.set(129);
  b.set(64);
  Bits c = a;
  c &= b;
  EXPECT_EQ(c.count(), 1u);
  EXPECT_TRUE(c.test(129));
  c = a;
  c |= b;
  EXPECT_EQ(c.count(), 3u);
  c.and_not(b);
  EXPECT_EQ(c.count(), 1u);
  EXPECT_TRUE(c.test(0));
  Bits all(130, true);
  EXPECT_EQ(all.count(), 130u);
  all.flip();
  EXPECT_FALSE(all.any());
  std::vector<size_t> seen;
  b.for_each([&](size_t i) { seen.push_back(i); });
  EXPECT_EQ(seen, (std::vector<size_t>{64, 129}));
}

}  // namespace
}  // namespace stockade
