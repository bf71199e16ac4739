/**
 * The process: flags in, daemon up, signals handled, exit status out. With bin/, the only
 * code that reads argv and the environment; server/process.ts supplies the pieces
 * (-u, -d, -P, signals) and this file decides when each runs, in memcached's order:
 *
 *   parse flags -> warnings -> check -u -> (-d: re-run detached, wait) -> bind (startDaemon)
 *   -> pid file -> drop to -u's user -> tell a -d parent we are up -> serve until a signal
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Settings } from '../config.js';
import { saveSnapshot } from '../cache/snapshot-write.js';
import { startDaemon, type Daemon } from '../server/daemon.js';
import {
  DAEMON_CHILD_ENV, FatalError, dropPrivileges, installSignalHandlers, notifyDaemonParent,
  removePidFile, reportDaemonFailure, resolveUser, snapshotDirWarning, spawnDaemon, stopSavesSnapshot,
  unsupportedFlagWarnings, writePidFile, type TargetUser,
} from '../server/process.js';
import { createLogger, levelFor } from '../log.js';
import { sdListenFds } from '../server/socket-activation.js';
import { CliError, parseCommandLine, type CommandLine } from './flags.js';
import { helpText, licenseText } from './help.js';

/** Our version, from the package.json above this file (src/cli/ or dist/src/cli/). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'slabcache' && typeof pkg.version === 'string') return pkg.version;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** Print one line to stderr and set the exit status; the event loop then ends by itself. */
function fail(message: string, exitCode = 1): void {
  process.stderr.write(`${message}\n`);
  process.exitCode = exitCode;
}

function exitCodeOf(err: unknown): number {
  return err instanceof FatalError ? err.exitCode : 1;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function main(argv: string[]): Promise<void> {
  let cl: CommandLine;
  try {
    cl = parseCommandLine(argv);
  } catch (err) {
    if (err instanceof CliError) return fail(err.message, err.exitCode);
    throw err;
  }
  const version = packageVersion();
  switch (cl.action) {
    case 'help': process.stdout.write(helpText(version)); return;
    case 'version': process.stdout.write(`slabcache ${version}\n`); return;
    case 'license': process.stdout.write(licenseText(version)); return;
    case 'run': break;
  }
  const settings = cl.settings;
  // systemd socket activation: serve on the sockets systemd passed instead of binding
  settings.inheritedFds = sdListenFds(process.env.LISTEN_PID, process.env.LISTEN_FDS, process.pid);
  // -S checks SASL PLAIN against this file, as memcached's built-in password database does
  settings.saslPwdb = process.env.MEMCACHED_SASL_PWDB ?? null;
  for (const w of [...cl.warnings, ...unsupportedFlagWarnings(settings)]) process.stderr.write(`${w}\n`);

  let user: TargetUser | null;
  try {
    // before anything binds, so a bad -u fails fast (memcached's rule: root must name a user)
    user = resolveUser(settings.username, process.getuid?.() ?? -1);
  } catch (err) {
    return fail(messageOf(err), exitCodeOf(err));
  }
  // the snapshot is saved after the drop to -u's user: say now if that user cannot
  if (settings.memoryFile !== null && user !== null) {
    const w = snapshotDirWarning(settings.memoryFile, user);
    if (w !== null) process.stderr.write(`${w}\n`);
  }

  const daemonChild = process.env[DAEMON_CHILD_ENV] === '1';
  if (settings.daemonize && !daemonChild) {
    // Node cannot fork: run this same command line again, detached, and wait until it listens
    process.exitCode = await spawnDaemon({
      execPath: process.execPath,
      args: [...process.execArgv, process.argv[1], ...argv],
      env: process.env,
      keepStderr: settings.verbose > 0,
    });
    return;
  }
  await run(settings, user, daemonChild);
}

/** Bind and serve in this process until SIGTERM/SIGINT/SIGUSR1. */
async function run(settings: Settings, user: TargetUser | null, daemonChild: boolean): Promise<void> {
  const startupFailed = (err: unknown): void => {
    const code = exitCodeOf(err);
    if (daemonChild) {
      // the waiting -d parent prints it; our stderr may go nowhere
      reportDaemonFailure(messageOf(err), () => process.exit(code));
    } else {
      fail(messageOf(err), code);
    }
  };

  // Signals are handled from before the first bind: a SIGTERM that lands while we
  // start up (systemd stop, a test) must still end in a clean exit 0, not the
  // default death by signal. A stop asked for before we listen runs once we do.
  let daemon: Daemon | null = null;
  let stopWanted: string | null = null;
  let stopped = false;
  const stop = (reason: string): void => {
    if (daemon === null) {
      stopWanted = reason;
      return;
    }
    if (stopped) return;
    stopped = true;
    const closing = daemon;
    closing.close().then(async () => {
      // -e: with every connection closed and the background jobs stopped, nothing
      // moves while the engine is written out
      if (settings.memoryFile !== null && stopSavesSnapshot(reason)) await saveOnStop(closing, settings.memoryFile);
    }).then(
      () => {
        // memcached removes its pid file only when it daemonized
        if (settings.daemonize && settings.pidFile !== null) removePidFile(settings.pidFile);
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`error while stopping: ${messageOf(err)}\n`);
        process.exit(1);
      },
    );
  };
  // winston to stderr (journald keeps it); `verbosity N` re-levels it at run time
  const log = createLogger(settings.verbose);
  installSignalHandlers({ stop, log: (message) => log.info(message) });
  const saveOnStop = async (d: Daemon, file: string): Promise<void> => {
    try {
      const r = await saveSnapshot(d.cache, file, settings);
      log.info(`[restart] saved ${r.items} items (${(r.bytes / 1048576).toFixed(1)} MB) to ${file} in ${r.ms.toFixed(0)} ms`);
    } catch (err) {
      log.error(`[restart] failed to save metadata: ${messageOf(err)}`);
    }
  };

  let started: Daemon;
  try {
    started = await startDaemon(settings, {
      log,
      // clients wait, unserved, until we run as -u's user
      hold: true,
      onVerbosity: (level) => {
        log.level = levelFor(level);
      },
    });
  } catch (err) {
    return startupFailed(err);
  }

  if (settings.pidFile !== null) {
    const problem = writePidFile(settings.pidFile, process.pid);
    if (problem !== null) process.stderr.write(`${problem}\n`);
  }
  try {
    if (user !== null && user.uid !== process.getuid?.()) {
      const owned = [settings.pidFile, settings.socketpath].filter((p): p is string => p !== null);
      dropPrivileges(user, owned);
    }
  } catch (err) {
    await started.close().catch(() => {});
    return startupFailed(err);
  }

  started.open();
  daemon = started;
  if (daemonChild) notifyDaemonParent();
  if (stopWanted !== null) stop(stopWanted);
}
