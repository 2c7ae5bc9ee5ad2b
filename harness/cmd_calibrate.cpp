// Placeholder registration for `rlvr calibrate` until its issue lands; replaced by the real command.
#include "harness/commands.h"

namespace rlvr {

void AddCalibrateCommand(CLI::App& app) {
  app.add_subcommand("calibrate", "(not built yet)")->callback([] {
    throw CLI::RuntimeError("rlvr calibrate is not built yet", 2);
  });
}

}  // namespace rlvr
