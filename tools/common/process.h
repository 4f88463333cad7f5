// Child processes for multi-process tests and syncbench: start a binary, signal it, wait with a
// bound, and always reap it. A Process still running when destroyed is killed with SIGKILL and
// reaped, so a failing test or an interrupted benchmark never leaves a daemon behind.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace stationsync {

// Path of a binary beside the running one (syncd, syncctl, syncgen: every binary of a build
// lands in its bin/ directory).
std::string BinPath(const std::string& name);

class Process {
 public:
  // Starts argv[0] (a path) with stdout and stderr appended to `log_path` and stdin from
  // /dev/null, in this process's environment with `env` (NAME=VALUE entries) put first.
  Process(const std::vector<std::string>& argv, const std::string& log_path,
          const std::vector<std::string>& env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // False once the process has exited (reaps it without blocking).
  bool running();
  void Signal(int signal);
  // The exit code (128 + signal number when killed), or nullopt if still running at the timeout
  // (or never started).
  std::optional<int> Wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;  // once reaped
};

struct CommandResult {
  int exit_code = -1;  // 128 + signal if killed; -1 if it timed out (and was killed)
  std::string out;
  std::string err;
};

// Runs a command to completion (killed at the timeout), feeding `input` on stdin.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input = "",
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Polls `condition` every 20 ms until it holds or the timeout passes.
bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

}  // namespace stationsync
