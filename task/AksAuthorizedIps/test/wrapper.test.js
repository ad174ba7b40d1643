'use strict';
// Tests of the task's wrapper (index.js) with Node's own test runner:
// `node --test task/`.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const task = require('../index.js');

const TASK_DIR = path.join(__dirname, '..');

function env(inputs, extra = {}) {
  const e = {};
  for (const [name, value] of Object.entries(inputs)) e[task.inputVar(name)] = value;
  return { ...e, ...extra };
}

test('input variables follow the agent: INPUT_ and the name upper-cased', () => {
  assert.equal(task.inputVar('failOn'), 'INPUT_FAILON');
  assert.equal(task.inputVar('sarifFile'), 'INPUT_SARIFFILE');
  assert.equal(task.inputVar('pr comments.x'), 'INPUT_PR_COMMENTS_X');
});

test('defaults: scan . with fail-on error, SARIF in the staging directory', () => {
  const { args, prComments } = task.buildArgs({ BUILD_ARTIFACTSTAGINGDIRECTORY: '/stage' });
  assert.deepEqual(args, [
    'scan', '.', '--fail-on', 'error',
    '--format', 'sarif', '--output', path.join('/stage', 'aks-authorized-ips.sarif'),
    '--ci-output', 'azure',
  ]);
  assert.equal(prComments, false);
});

test('multi-line paths and globs, CRLF and blank lines, spaces kept inside', () => {
  const { args } = task.buildArgs(env({
    path: 'infra\r\n\r\n  my templates/a.json  \n',
    include: '**/*.json\n**/*.bicep.json',
    exclude: '\nlegacy/**\n',
    failOn: 'Warning',
    sarifFile: 'out/r.sarif',
  }));
  assert.deepEqual(args, [
    'scan', 'infra', 'my templates/a.json',
    '--include', '**/*.json', '--include', '**/*.bicep.json',
    '--exclude', 'legacy/**',
    '--fail-on', 'warning',
    '--format', 'sarif', '--output', 'out/r.sarif',
    '--ci-output', 'azure',
  ]);
});

test('config: passed when a file, dropped when empty or the directory the agent fills in', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aks-task-'));
  const file = path.join(dir, 'c.yaml');
  fs.writeFileSync(file, 'rules: {}\n');
  const { args } = task.buildArgs(env({ config: file }));
  assert.equal(args[args.indexOf('--config') + 1], file);
  assert.ok(!task.buildArgs(env({ config: '' })).args.includes('--config'));
  assert.ok(!task.buildArgs(env({ config: dir })).args.includes('--config'));
  fs.rmSync(dir, { recursive: true });
});

test('failOn: each level, and anything else refused', () => {
  for (const level of ['error', 'warning', 'note', 'never']) {
    const { args } = task.buildArgs(env({ failOn: level }));
    assert.equal(args[args.indexOf('--fail-on') + 1], level);
  }
  assert.throws(() => task.buildArgs(env({ failOn: 'sometimes' })), /failOn must be one of/);
});

test('PR comments: only on a pull-request build and when the input is on', () => {
  const pr = { SYSTEM_PULLREQUEST_PULLREQUESTID: '42' };
  assert.equal(task.buildArgs(env({ prComments: 'true' }, pr)).prComments, true);
  assert.ok(task.buildArgs(env({ prComments: 'True' }, pr)).args.includes('--pr-comments'));
  assert.ok(task.buildArgs(env({}, pr)).args.includes('--pr-comments'), 'default is on');
  assert.ok(!task.buildArgs(env({ prComments: 'false' }, pr)).args.includes('--pr-comments'));
  assert.ok(!task.buildArgs(env({ prComments: 'true' })).args.includes('--pr-comments'));
});

test('the access token reaches the child only with PR comments on', () => {
  const e = { SYSTEM_ACCESSTOKEN: 'secret', PATH: '/bin' };
  assert.equal(task.childEnv(e, true).SYSTEM_ACCESSTOKEN, 'secret');
  assert.equal(task.childEnv(e, false).SYSTEM_ACCESSTOKEN, undefined);
  assert.equal(task.childEnv(e, false).PATH, '/bin');
  assert.equal(e.SYSTEM_ACCESSTOKEN, 'secret', 'the input object is not changed');
});

test('binary selection for each supported platform and architecture', () => {
  const cases = [
    ['linux', 'x64', 'x86_64-unknown-linux-musl/aks-authorized-ips'],
    ['linux', 'arm64', 'aarch64-unknown-linux-musl/aks-authorized-ips'],
    ['darwin', 'x64', 'x86_64-apple-darwin/aks-authorized-ips'],
    ['darwin', 'arm64', 'aarch64-apple-darwin/aks-authorized-ips'],
    ['win32', 'x64', 'x86_64-pc-windows-msvc/aks-authorized-ips.exe'],
  ];
  for (const [platform, arch, rel] of cases) {
    assert.equal(task.binaryPath('/t', platform, arch), path.join('/t', 'bin', ...rel.split('/')));
  }
});

test('binary selection: an unsupported platform is a clear error', () => {
  assert.throws(() => task.binaryPath('/t', 'win32', 'arm64'), /no aks-authorized-ips binary for win32\/arm64; supported: linux-x64/);
  assert.throws(() => task.binaryPath('/t', 'freebsd', 'x64'), /freebsd\/x64/);
});

test('ensureExecutable restores the execute bit', { skip: process.platform === 'win32' }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aks-task-'));
  const file = path.join(dir, 'bin');
  fs.writeFileSync(file, '#!/bin/sh\n');
  fs.chmodSync(file, 0o644);
  task.ensureExecutable(file);
  assert.equal(fs.statSync(file).mode & 0o777, 0o755);
  fs.rmSync(dir, { recursive: true });
});

// End to end: index.js in a copy of the task with a stub binary that records
// its arguments and environment and exits with STUB_EXIT.
function stagedTask() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aks-task-e2e-'));
  fs.copyFileSync(path.join(TASK_DIR, 'index.js'), path.join(dir, 'index.js'));
  return dir;
}

function placeStub(dir) {
  const bin = task.binaryPath(dir, process.platform, process.arch);
  fs.mkdirSync(path.dirname(bin), { recursive: true });
  fs.writeFileSync(
    bin,
    `#!${process.execPath}\n` +
      "const fs = require('fs');\n" +
      'fs.writeFileSync(process.env.STUB_RECORD, JSON.stringify({ argv: process.argv.slice(2), token: process.env.SYSTEM_ACCESSTOKEN || null }));\n' +
      "console.log('stub ran');\n" +
      'process.exit(Number(process.env.STUB_EXIT || 0));\n',
  );
  fs.chmodSync(bin, 0o644); // as the VSIX leaves it
  return bin;
}

function runTask(dir, extraEnv) {
  const record = path.join(dir, 'record.json');
  const r = spawnSync(process.execPath, [path.join(dir, 'index.js')], {
    env: { PATH: process.env.PATH, STUB_RECORD: record, ...extraEnv },
    encoding: 'utf8',
    cwd: dir,
  });
  const rec = fs.existsSync(record) ? JSON.parse(fs.readFileSync(record, 'utf8')) : null;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, rec };
}

const e2e = { skip: process.platform === 'win32' || !task.TARGETS[`${process.platform}-${process.arch}`] };

test('end to end: exit codes propagate, the stub gets the arguments', e2e, () => {
  const dir = stagedTask();
  placeStub(dir);
  for (const code of [0, 1, 2]) {
    const r = runTask(dir, {
      STUB_EXIT: String(code),
      [task.inputVar('path')]: 'a\nb c',
      [task.inputVar('sarifFile')]: path.join(dir, 'out', 'x.sarif'),
      [task.inputVar('failOn')]: 'note',
    });
    assert.equal(r.status, code, r.stdout + r.stderr);
    assert.match(r.stdout, /stub ran/);
    assert.deepEqual(r.rec.argv, [
      'scan', 'a', 'b c', '--fail-on', 'note',
      '--format', 'sarif', '--output', path.join(dir, 'out', 'x.sarif'), '--ci-output', 'azure',
    ]);
    assert.ok(fs.statSync(path.join(dir, 'out')).isDirectory(), 'the SARIF folder is created');
  }
  fs.rmSync(dir, { recursive: true });
});

test('end to end: the token is passed only with PR comments on', e2e, () => {
  const dir = stagedTask();
  placeStub(dir);
  const base = {
    SYSTEM_ACCESSTOKEN: 'tok-123',
    SYSTEM_PULLREQUEST_PULLREQUESTID: '7',
    [task.inputVar('sarifFile')]: path.join(dir, 'x.sarif'),
  };
  let r = runTask(dir, { ...base, [task.inputVar('prComments')]: 'false' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(r.rec.token, null);
  assert.ok(!r.rec.argv.includes('--pr-comments'));
  assert.ok(!r.stdout.includes('tok-123'), 'the token is never printed');

  r = runTask(dir, { ...base, [task.inputVar('prComments')]: 'true' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(r.rec.token, 'tok-123');
  assert.ok(r.rec.argv.includes('--pr-comments'));
  assert.ok(!r.stdout.includes('tok-123'), 'the token is never printed');
  fs.rmSync(dir, { recursive: true });
});

test('end to end: a missing binary fails the task with logging commands', () => {
  const dir = stagedTask();
  const r = runTask(dir, {});
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^##vso\[task\.logissue type=error\].*(does not bundle|no aks-authorized-ips binary)/m);
  assert.match(r.stdout, /^##vso\[task\.complete result=Failed;\]/m);
  assert.equal(r.rec, null);
  fs.rmSync(dir, { recursive: true });
});

test('task.json: the inputs index.js reads, the handlers, the version from Cargo.toml', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(TASK_DIR, 'task.json'), 'utf8'));
  assert.equal(manifest.name, 'AksAuthorizedIps');
  assert.ok(manifest.friendlyName.length <= 40, 'the schema caps friendlyName at 40 characters');
  assert.match(manifest.name, /^[A-Za-z0-9-]+$/);
  for (const i of manifest.inputs) assert.match(i.name, /^[A-Za-z][A-Za-z0-9]*$/);
  assert.match(manifest.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(
    manifest.inputs.map((i) => i.name).sort(),
    ['config', 'exclude', 'failOn', 'include', 'path', 'prComments', 'sarifFile'],
  );
  const failOn = manifest.inputs.find((i) => i.name === 'failOn');
  assert.deepEqual(Object.keys(failOn.options), ['error', 'warning', 'note', 'never']);
  for (const handler of Object.values(manifest.execution)) assert.equal(handler.target, 'index.js');
  assert.ok(manifest.execution.Node20_1);
  const cargo = fs.readFileSync(path.join(TASK_DIR, '..', '..', 'Cargo.toml'), 'utf8');
  const version = /^version\s*=\s*"(\d+)\.(\d+)\.(\d+)"/m.exec(cargo);
  assert.deepEqual(manifest.version, {
    Major: Number(version[1]), Minor: Number(version[2]), Patch: Number(version[3]),
  });
  const ext = JSON.parse(fs.readFileSync(path.join(TASK_DIR, '..', 'vss-extension.json'), 'utf8'));
  assert.equal(ext.version, version.slice(1).join('.'));
  assert.equal(ext.contributions[0].properties.name, 'AksAuthorizedIps');
});

test('manifests stay within the limits tfx-cli enforces', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'vss-extension.json'), 'utf8'));
  const taskJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'task.json'), 'utf8'));
  // tfx extension create refuses a description of 200 characters or more.
  assert.ok(manifest.description.length < 200, `vss-extension.json description: ${manifest.description.length}`);
  assert.ok(taskJson.description.length < 200, `task.json description: ${taskJson.description.length}`);
  assert.equal(taskJson.name, 'AksAuthorizedIps');
});
