/**
 * The layering rule, checked by `npm run layers` (part of `npm test`, so CI fails on a violating
 * import): core/ is the runtime and imports no layer above it; elements/ and backends/ know core
 * only, never each other; hwsim/ is the hardware model the fpga backend drives; app/ (CLI,
 * control socket, lookup stream, the backend catalog) is the only code that ties them together.
 */
module.exports = {
  forbidden: [
    {
      name: 'core-imports-no-upper-layer',
      comment: 'core/ must not import app/, elements/, backends/, hwsim/, bench/ or scripts/',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: '^(app|elements|backends|hwsim|bench|scripts)/' },
    },
    {
      name: 'elements-know-core-only',
      comment: 'elements/ must not import app/, backends/, hwsim/ or bench/ (backends are reached through the registry)',
      severity: 'error',
      from: { path: '^elements/' },
      to: { path: '^(app|backends|hwsim|bench|scripts)/' },
    },
    {
      name: 'backends-know-no-elements',
      comment: 'backends/ must not import app/, elements/ or bench/: backends run kernels, they know nothing of elements',
      severity: 'error',
      from: { path: '^backends/' },
      to: { path: '^(app|elements|bench|scripts)/' },
    },
    {
      name: 'hwsim-is-below-backends',
      comment: 'hwsim/ (our Verilog and the Verilator machinery) must not import app/, elements/, backends/ or bench/',
      severity: 'error',
      from: { path: '^hwsim/' },
      to: { path: '^(app|elements|backends|bench|scripts)/' },
    },
    {
      name: 'no-unresolvable-imports',
      comment: "an import that resolves to nothing (a moved file); @yowasp/yosys's exports map has no condition the resolver takes",
      severity: 'error',
      from: {},
      to: { couldNotResolve: true, pathNot: '^@yowasp/yosys$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
