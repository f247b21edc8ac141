// Network namespaces for the agent's kernel tests: created with `ip netns`, removed at the end,
// addresses from 192.0.2.0/24 (TEST-NET-1) and loopback only.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

namespace stockade::testing {

inline bool sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

class TestNetns {
 public:
  explicit TestNetns(std::string name) : name_(std::move(name)) {
    sh("ip netns del " + name_);
    ok_ = sh("ip netns add " + name_) && sh("ip -n " + name_ + " link set lo up");
    if (!ok_) return;
    fd_ = ::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st;
    ok_ = fd_ >= 0 && fstat(fd_, &st) == 0;
    if (ok_) inode_ = static_cast<uint32_t>(st.st_ino);
  }
  ~TestNetns() {
    if (fd_ >= 0) ::close(fd_);
    sh("ip netns del " + name_);
  }
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;

  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  uint32_t inode() const { return inode_; }
  bool run(const std::string& ip_args) const { return sh("ip -n " + name_ + " " + ip_args); }

  // Runs `fn` on a thread that lives in this namespace and is named `comm` (the kernel's
  // comm is per thread, so events name it).
  std::thread spawn(const std::string& comm, std::function<void()> fn) const {
    int fd = fd_;
    return std::thread([fd, comm, fn = std::move(fn)] {
      if (setns(fd, CLONE_NEWNET) != 0) std::abort();
      prctl(PR_SET_NAME, comm.c_str(), 0, 0, 0);
      fn();
    });
  }

 private:
  std::string name_;
  int fd_ = -1;
  uint32_t inode_ = 0;
  bool ok_ = false;
};

// Two namespaces joined by a veth pair: a = 192.0.2.1/24, b = 192.0.2.2/24.
inline bool link_veth(TestNetns& a, TestNetns& b, const std::string& tag) {
  std::string va = "stka" + tag, vb = "stkb" + tag;
  return sh("ip link add " + va + " type veth peer name " + vb) &&
         sh("ip link set " + va + " netns " + a.name()) &&
         sh("ip link set " + vb + " netns " + b.name()) &&
         a.run("addr add 192.0.2.1/24 dev " + va) && a.run("link set " + va + " up") &&
         b.run("addr add 192.0.2.2/24 dev " + vb) && b.run("link set " + vb + " up");
}

}  // namespace stockade::testing
