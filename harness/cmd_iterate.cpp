// Placeholder registration for `rlvr iterate` until its issue lands; replaced by the real command.
#include "harness/commands.h"

namespace rlvr {

void AddIterateCommand(CLI::App& app) {
  app.add_subcommand("iterate", "(not built yet)")->callback([] {
    throw CLI::RuntimeError("rlvr iterate is not built yet", 2);
  });
}

}  // namespace rlvr
