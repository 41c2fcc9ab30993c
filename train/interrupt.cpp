// InterruptGuard over sigaction: the handler stores the signal number and returns.
#include "train/interrupt.h"

#include <atomic>
#include <csignal>
#include <cstring>

#include <signal.h>

namespace mind::train {

namespace {

// A lock-free atomic rather than a `volatile std::sig_atomic_t`: both may be written in a signal
// handler, but the signal can land on an OpenMP worker thread, and only an atomic is guaranteed
// to be seen by the main thread that checks it.
std::atomic<int> received_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free atomic");

struct sigaction previous_interrupt_action;
struct sigaction previous_terminate_action;

extern "C" void record_signal(int signal_number) { received_signal.store(signal_number); }

}  // namespace

InterruptGuard::InterruptGuard() {
  received_signal.store(0);
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = record_signal;
  sigemptyset(&action.sa_mask);
  // Restart interrupted system calls (file reads and writes, thread waits) instead of failing
  // them with EINTR: the signal only asks the loop to stop at the end of the step.
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &previous_interrupt_action);
  sigaction(SIGTERM, &action, &previous_terminate_action);
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGINT, &previous_interrupt_action, nullptr);
  sigaction(SIGTERM, &previous_terminate_action, nullptr);
}

int InterruptGuard::signal_received() const { return received_signal.load(); }

}  // namespace mind::train
