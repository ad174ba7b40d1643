'use strict';
// The Azure Pipelines task: runs the bundled static aks-authorized-ips binary
// for the agent's OS and architecture with the task's inputs as arguments
// (an argument array, never a shell). No npm dependency: the agent hands the
// inputs over as INPUT_<NAME> environment variables (name upper-cased, spaces
// and dots as underscores), which is all azure-pipelines-task-lib reads too.
// The binary writes the logging commands (annotations, SARIF artifact,
// summary, task.complete); this wrapper only exits with its exit code.

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const BINARY = 'aks-authorized-ips';

// process.platform/process.arch -> release target (.github/workflows/release.yml).
const TARGETS = {
  'linux-x64': 'x86_64-unknown-linux-musl',
  'linux-arm64': 'aarch64-unknown-linux-musl',
  'darwin-x64': 'x86_64-apple-darwin',
  'darwin-arm64': 'aarch64-apple-darwin',
  'win32-x64': 'x86_64-pc-windows-msvc',
};

const FAIL_ON = ['error', 'warning', 'note', 'never'];

/** The agent's environment variable for the input `name`. */
function inputVar(name) {
  return 'INPUT_' + name.replace(/[.\s]/g, '_').toUpperCase();
}

function input(env, name) {
  const value = env[inputVar(name)];
  return value === undefined ? '' : String(value).trim();
}

/** A multi-line input: one entry per line, blanks and CR dropped. */
function lines(value) {
  return String(value || '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

function isTrue(value) {
  return /^true$/i.test(String(value || '').trim());
}

/**
 * The binary's arguments and whether PR comments are on, from the task's
 * inputs in `env`. Throws on an invalid failOn.
 */
function buildArgs(env) {
  const paths = lines(input(env, 'path'));
  const failOn = (input(env, 'failOn') || 'error').toLowerCase();
  if (!FAIL_ON.includes(failOn)) {
    throw new Error(`failOn must be one of ${FAIL_ON.join(', ')}, not '${failOn}'`);
  }
  const defaultSarif = path.join(
    env.BUILD_ARTIFACTSTAGINGDIRECTORY || '.',
    'aks-authorized-ips.sarif',
  );
  const sarifFile = input(env, 'sarifFile') || defaultSarif;
  // The input's default is true; an unset variable means the default.
  const prInput = input(env, 'prComments');
  const prComments =
    (prInput === '' || isTrue(prInput)) && Boolean(env.SYSTEM_PULLREQUEST_PULLREQUESTID);

  const args = ['scan', ...(paths.length > 0 ? paths : ['.'])];
  for (const glob of lines(input(env, 'include'))) args.push('--include', glob);
  for (const glob of lines(input(env, 'exclude'))) args.push('--exclude', glob);
  const config = input(env, 'config');
  // A filePath input left empty arrives as the sources directory (or the
  // working directory): that is no configuration file.
  if (config && !isDirectory(config)) args.push('--config', config);
  args.push('--fail-on', failOn);
  args.push('--format', 'sarif', '--output', sarifFile);
  args.push('--ci-output', 'azure');
  if (prComments) args.push('--pr-comments');
  return { args, prComments, sarifFile };
}

function isDirectory(p) {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The bundled binary for `platform`/`arch` under `taskDir`:
 * bin/<target>/aks-authorized-ips[.exe]. Throws when there is none.
 */
function binaryPath(taskDir, platform, arch) {
  const target = TARGETS[`${platform}-${arch}`];
  if (!target) {
    throw new Error(
      `no aks-authorized-ips binary for ${platform}/${arch}; supported: ` +
        Object.keys(TARGETS).join(', '),
    );
  }
  const exe = platform === 'win32' ? '.exe' : '';
  return path.join(taskDir, 'bin', target, BINARY + exe);
}

/** Restores the execute bit that VSIX packaging drops (no-op on Windows). */
function ensureExecutable(file, platform = process.platform) {
  if (platform === 'win32') return;
  const mode = fs.statSync(file).mode;
  if ((mode & 0o111) !== 0o111) fs.chmodSync(file, mode | 0o755);
}

/** The child's environment: the access token only when PR comments are on. */
function childEnv(env, prComments) {
  const out = { ...env };
  if (!prComments) delete out.SYSTEM_ACCESSTOKEN;
  return out;
}

function escapeData(s) {
  return String(s)
    .replace(/%/g, '%AZP25')
    .replace(/\r/g, '%0D')
    .replace(/\n/g, '%0A');
}

function fail(message) {
  console.log(`##vso[task.logissue type=error]${escapeData(message)}`);
  console.log(`##vso[task.complete result=Failed;]${escapeData(message)}`);
  return 1;
}

function main(env = process.env, taskDir = __dirname) {
  let binary;
  let built;
  try {
    binary = binaryPath(taskDir, process.platform, process.arch);
    built = buildArgs(env);
  } catch (e) {
    return fail(e.message);
  }
  if (!fs.existsSync(binary)) {
    return fail(`aks-authorized-ips: the task does not bundle ${path.relative(taskDir, binary)}`);
  }
  try {
    ensureExecutable(binary);
    fs.mkdirSync(path.dirname(path.resolve(built.sarifFile)), { recursive: true });
  } catch (e) {
    return fail(`aks-authorized-ips: ${e.message}`);
  }
  // A missing SYSTEM_ACCESSTOKEN with prComments on is the binary's to
  // report: it names the mapping to add, once.
  console.log(`${BINARY} ${built.args.map((a) => JSON.stringify(a)).join(' ')}`);
  const result = spawnSync(binary, built.args, {
    env: childEnv(env, built.prComments),
    stdio: 'inherit',
  });
  if (result.error) return fail(`aks-authorized-ips: cannot run ${binary}: ${result.error.message}`);
  if (result.status === null) return fail(`aks-authorized-ips: killed by ${result.signal}`);
  return result.status;
}

module.exports = { buildArgs, binaryPath, ensureExecutable, childEnv, inputVar, lines, TARGETS, main };

if (require.main === module) {
  process.exitCode = main();
}
