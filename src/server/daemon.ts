/**
 * PLACEHOLDER until the server lands: cli/main.ts needs something to call.
 * The real module (sockets, protocols, engine) replaces this file.
 */
import type { Settings } from '../config.js';

export async function startDaemon(settings: Settings): Promise<{ close(): Promise<void> }> {
  void settings;
  throw new Error('daemon not built yet');
}
