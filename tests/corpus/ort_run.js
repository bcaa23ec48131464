#!/usr/bin/env node
// Runs ONNX models with ONNX Runtime (onnxruntime-node, CPU EP, default session options, 1 thread) on inputs
// stored as .npy files and writes every output as a float32 .npy file: the peer the opset corpus test
// (tests/e2e/corpus_test.cc) compares qwac's FP32 and INT8 runs with. One process runs every job, so ORT's start-up
// is paid once.
//
//   NODE_PATH=tools/ort/node_modules node tests/corpus/ort_run.js JOBS.json
//
// JOBS.json: [{"model": "m.onnx", "inputs": {"input": "x.npy"}, "outputs": ["y0.npy", ...]}, ...]; output k of the
// model goes to outputs[k]. A job that fails writes no outputs and is reported on stderr as
// "FAILED <model>: <message>"; the exit code is then 1 (the other jobs still run).
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

// NumPy .npy (format 1.0/2.0, little-endian float32/int64/int32, C order) -> {dims, data}.
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${path}: Fortran order is not supported`);
  const dims = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter((s) => s.length)
      .map(Number);
  const bytes = buf.subarray(start);
  const copy = (Ctor) => new Ctor(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const types = {'<f4': ['float32', Float32Array], '<i8': ['int64', BigInt64Array], '<i4': ['int32', Int32Array]};
  if (!types[descr]) throw new Error(`${path}: dtype ${descr} is not supported`);
  return new ort.Tensor(types[descr][0], copy(types[descr][1]), dims);
}

function writeNpy(path, tensor) {
  let data = tensor.data;
  if (!(data instanceof Float32Array)) data = Float32Array.from(data, Number);
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${tensor.dims.join(', ')}${
    tensor.dims.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const tmp = path + '.tmp';
  fs.writeFileSync(tmp, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset,
                                                                                     data.byteLength)]));
  fs.renameSync(tmp, path);
}

async function main() {
  if (process.argv.length !== 3) throw new Error('usage: ort_run.js JOBS.json');
  const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  let failed = 0;
  for (const job of jobs) {
    try {
      const session = await ort.InferenceSession.create(job.model, {intraOpNumThreads: 1, interOpNumThreads: 1});
      const feeds = {};
      for (const [name, file] of Object.entries(job.inputs)) feeds[name] = readNpy(file);
      const results = await session.run(feeds);
      session.outputNames.forEach((name, k) => {
        if (k < job.outputs.length) writeNpy(job.outputs[k], results[name]);
      });
    } catch (e) {
      failed++;
      process.stderr.write(`FAILED ${job.model}: ${String(e.message || e).split('\n')[0]}\n`);
    }
  }
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exitCode = 2;
});
