#include "cli/commands.h"

#include <cstdio>

#include "common/buffer_pool.h"
#include "logging/logging.h"
#include "server/server.h"

namespace detour {

int runServerCommand(const CliOptions& opts) {
  tuneAllocator();
  setupLogging("info");
  installLibeventBufferPool();
  ServerOptions so;
  so.config_path = opts.configs.front();
  so.ready_file = opts.ready_file;
  so.watch_config = opts.watch;
  auto server = Server::create(so);
  if (!server) {
    fprintf(stderr, "%s", server.status().message().c_str());
    if (!server.status().message().empty() && server.status().message().back() != '\n')
      fputc('\n', stderr);
    fprintf(stderr, "detour: not started\n");
    return 1;
  }
  return (*server)->run();
}

}  // namespace detour
