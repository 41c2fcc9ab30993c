// Ctrl-C (SIGINT) and SIGTERM during a run: while an InterruptGuard lives (train/trainer.cpp keeps
// one from the first step to the end of the export), these signals only record that they arrived;
// the training loop asks after every step and an evaluation between two batches, then the run
// saves a resumable state and stops (an export under way is finished, not cut, and the run still
// reports the signal: mind_train exits 128 + its number). Not a general
// signal library: nothing else is caught, and nothing happens in the handler.
#pragma once

namespace mind::train {

class InterruptGuard {
 public:
  // Installs the handlers (and forgets any earlier request); the destructor puts back the
  // handlers that were there before, so a second Ctrl-C after training ends the program as usual.
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  // The signal that asked to stop (SIGINT or SIGTERM), or 0 when none has arrived. Further
  // signals while the state is being saved change nothing: each save is atomic and the loop has
  // already decided to stop.
  int signal_received() const;
};

}  // namespace mind::train
