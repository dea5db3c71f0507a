import { devNull } from 'node:os';

/**
 * The environment the pinned `cdktf` CLI runs in wherever the project runs it (the synth command,
 * tests, benchmarks). CHECKPOINT_DISABLE keeps it from calling HashiCorp's version and telemetry
 * service; CI turns off its interactive output; and since it asks a terraform binary, if one is on
 * the PATH, for its version, an empty CLI config keeps terraform from warning on every synth.
 */
export const CDKTF_CLI_ENV = { CHECKPOINT_DISABLE: '1', CI: '1', TF_CLI_CONFIG_FILE: devNull } as const;
