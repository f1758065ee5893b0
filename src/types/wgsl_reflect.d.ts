// The package ships its types for the CommonJS entry; this maps the ESM build (the one that loads in Node under
// "type": "module") to the same declarations.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
