// A kernel is data: which shader file and entry point, the workgroup size (bound to the shader's `workgroupSize`
// override) and any other override constants. A job binds it once — buffers by variable name, uniform values by
// field name, both checked against the reflected WGSL — and then encodes dispatches as often as it likes.
import { describeLine, resolveShader, type ResolvedShader, type ShaderSources } from '../shaders/include.js';
import { shaderSources, type ShaderFile } from '../shaders/sources.generated.js';
import { BufferUsage } from './constants.js';
import type { GpuContext } from './device.js';
import { GpuValidationError, KernelArgumentError, ShaderCompileError } from './errors.js';
import { dispatchFor, dispatchRows, type Dispatch } from './grid.js';
import { reflectShader, type ShaderReflection } from './reflect.js';
import { packUniforms, type UniformValues } from './uniforms.js';

export interface KernelProgram {
  /** Unique, human-readable name; errors and the pipeline cache use it. */
  name: string;
  /** A file of shaders/, or a source the runtime was given with `addShaderSource`. */
  shader: ShaderFile | (string & {});
  entryPoint: string;
  /** Threads per workgroup, passed to the shader's `workgroupSize` override. */
  workgroupSize: number;
  /** Other override constants of the shader. */
  constants?: Record<string, number | boolean>;
}

export interface KernelBindings {
  /** Storage buffers by WGSL variable name. */
  buffers: Record<string, GPUBuffer>;
  /** Values of the entry point's uniform struct, by field name: exactly the fields it declares. */
  uniforms?: UniformValues;
}

/** What an entry point declares: the storage variables it uses and the fields of its uniform struct. */
export interface KernelInterface {
  buffers: string[];
  uniforms: string[];
}

interface ShaderModuleEntry {
  resolved: ResolvedShader;
  reflection: ShaderReflection;
  module: GPUShaderModule;
}

/** A kernel bound to its buffers for one job: encode it as many times as the job needs. */
export class BoundKernel {
  constructor(
    readonly program: KernelProgram,
    private readonly pipeline: GPUComputePipeline,
    private readonly bindGroups: { group: number; bindGroup: GPUBindGroup }[],
    private readonly uniform: { buffer: GPUBuffer; write: (values: UniformValues) => ArrayBuffer } | undefined,
    private readonly context: GpuContext,
  ) {}

  get hasUniforms(): boolean {
    return this.uniform !== undefined;
  }

  /** Frees what binding created (the uniform buffer); work already submitted still completes. */
  release(): void {
    this.context.release(this.uniform?.buffer);
  }

  /** Rewrites the uniform values (between submits; the bind group stays). */
  setUniforms(values: UniformValues): void {
    if (!this.uniform) throw new KernelArgumentError('this kernel has no uniform struct', this.program.name);
    this.context.device.queue.writeBuffer(this.uniform.buffer, 0, this.uniform.write(values));
  }

  encode(pass: GPUComputePassEncoder, dispatch: Dispatch): void {
    if (dispatch[0] * dispatch[1] * dispatch[2] === 0) return;
    pass.setPipeline(this.pipeline);
    for (const { group, bindGroup } of this.bindGroups) pass.setBindGroup(group, bindGroup);
    pass.dispatchWorkgroups(dispatch[0], dispatch[1], dispatch[2]);
  }

  /** The dispatch covering `count` items of one thread each. */
  dispatchFor(count: number): Dispatch {
    return dispatchFor(count, this.program.workgroupSize, this.context.limits.maxComputeWorkgroupsPerDimension);
  }

  /** The dispatch covering `rows` rows of `perRow` items (see dispatchRows). */
  dispatchRows(rows: number, perRow: number): Dispatch {
    return dispatchRows(rows, perRow, this.program.workgroupSize, this.context.limits.maxComputeWorkgroupsPerDimension);
  }
}

/** Compiles, caches and binds kernels on one GPU context. */
export class KernelRuntime {
  private readonly modules = new Map<string, Promise<ShaderModuleEntry>>();
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  private sources: ShaderSources = shaderSources;

  constructor(readonly context: GpuContext) {}

  /**
   * Adds a WGSL source under `name`, so that an application's own kernels run through the same runtime (includes of
   * the library's helpers work in it). Names of the library's files cannot be replaced.
   */
  addShaderSource(name: string, code: string): void {
    if (Object.prototype.hasOwnProperty.call(shaderSources, name)) throw new Error(`shader "${name}" is one of the library's and cannot be replaced`);
    this.sources = { ...this.sources, [name]: code };
    this.modules.delete(name);
    for (const key of [...this.pipelines.keys()]) if ((JSON.parse(key) as unknown[])[1] === name) this.pipelines.delete(key);
  }

  reflection(shader: string): ShaderReflection {
    return reflectShader(resolveShader(shader, this.sources).code);
  }

  private moduleFor(shader: string, kernel: string): Promise<ShaderModuleEntry> {
    let entry = this.modules.get(shader);
    if (!entry) {
      entry = this.compile(shader, kernel);
      this.modules.set(shader, entry);
      entry.catch(() => this.modules.delete(shader));
    }
    return entry;
  }

  private async compile(shader: string, kernel: string): Promise<ShaderModuleEntry> {
    const resolved = resolveShader(shader, this.sources);
    const device = this.context.device;
    this.context.checkHealth(`compiling ${shader}`);
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label: shader, code: resolved.code });
    const scopeError = await device.popErrorScope();
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((message) => message.type === 'error');
    if (errors.length > 0) {
      const lines = resolved.code.split('\n');
      const text = errors
        .map((message) => {
          const source = lines[message.lineNum - 1]?.trim() ?? '';
          return `${describeLine(resolved, message.lineNum)}: ${message.message}\n    ${source}`;
        })
        .join('\n');
      throw new ShaderCompileError(`WGSL in ${shader} does not compile:\n${text}`, kernel);
    }
    if (scopeError) throw new ShaderCompileError(`WGSL in ${shader} was rejected: ${scopeError.message}`, kernel);
    return { resolved, reflection: reflectShader(resolved.code), module };
  }

  private cacheKey(program: KernelProgram): string {
    const constants = Object.entries(program.constants ?? {}).sort(([a], [b]) => a.localeCompare(b));
    return JSON.stringify([program.name, program.shader, program.entryPoint, program.workgroupSize, constants]);
  }

  async pipeline(program: KernelProgram): Promise<{ pipeline: GPUComputePipeline; module: ShaderModuleEntry }> {
    const module = await this.moduleFor(program.shader, program.name);
    const key = this.cacheKey(program);
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = this.createPipeline(program, module);
      this.pipelines.set(key, pipeline);
      pipeline.catch(() => this.pipelines.delete(key));
    }
    return { pipeline: await pipeline, module };
  }

  private async createPipeline(program: KernelProgram, module: ShaderModuleEntry): Promise<GPUComputePipeline> {
    const { reflection } = module;
    if (!reflection.entryPoints.has(program.entryPoint)) {
      throw new KernelArgumentError(
        `${program.shader} has no compute entry point "${program.entryPoint}" ` +
          `(it has: ${[...reflection.entryPoints.keys()].join(', ')})`,
        program.name,
      );
    }
    // The workgroup size goes to the `workgroupSize` override; a shader that fixes its size must fix this one.
    const constants: Record<string, number> = {};
    if (reflection.overrides.has('workgroupSize')) {
      constants.workgroupSize = program.workgroupSize;
    } else {
      const fixed = reflection.entryPoints.get(program.entryPoint)!.workgroupSize;
      if (fixed.reduce((a, b) => a * b, 1) !== program.workgroupSize) {
        throw new KernelArgumentError(
          `${program.shader}:${program.entryPoint} fixes @workgroup_size(${fixed.join(', ')}) but the program asks for ${program.workgroupSize}`,
          program.name,
        );
      }
    }
    for (const [name, value] of Object.entries(program.constants ?? {})) constants[name] = Number(value);
    for (const name of Object.keys(constants)) {
      if (!reflection.overrides.has(name)) {
        throw new KernelArgumentError(
          `${program.shader} declares no override "${name}" (it has: ${[...reflection.overrides.keys()].join(', ') || 'none'})`,
          program.name,
        );
      }
    }
    // The workgroup size is the x extent: both the per-dimension and the total limit apply.
    const { maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX } = this.context.limits;
    if (program.workgroupSize > Math.min(maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX)) {
      throw new KernelArgumentError(
        `workgroup size ${program.workgroupSize} exceeds the device's maxComputeWorkgroupSizeX ${maxComputeWorkgroupSizeX} ` +
          `or maxComputeInvocationsPerWorkgroup ${maxComputeInvocationsPerWorkgroup}: use a smaller workgroupSize`,
        program.name,
      );
    }
    const device = this.context.device;
    try {
      return await device.createComputePipelineAsync({
        label: program.name,
        layout: 'auto',
        compute: { module: module.module, entryPoint: program.entryPoint, constants },
      });
    } catch (error) {
      throw new GpuValidationError(`creating the pipeline failed: ${(error as Error).message ?? String(error)}`, program.name);
    }
  }

  /** The storage variables and uniform fields that a program's entry point declares (compiles it if needed). */
  async interfaceOf(program: KernelProgram): Promise<KernelInterface> {
    const { reflection } = (await this.pipeline(program)).module;
    const entry = reflection.entryPoints.get(program.entryPoint)!;
    const used = [...reflection.bindings.values()].filter((binding) => entry.resources.has(binding.name));
    const uniform = used.find((binding) => binding.kind === 'uniform');
    return {
      buffers: used.filter((binding) => binding.kind === 'storage').map((binding) => binding.name),
      uniforms: uniform ? reflection.uniforms.get(uniform.name)!.members.map((member) => member.name) : [],
    };
  }

  /** Binds a program to its buffers and uniform values for one job (bind groups are made here, once). */
  async bind(program: KernelProgram, bindings: KernelBindings): Promise<BoundKernel> {
    const { pipeline, module } = await this.pipeline(program);
    const { reflection } = module;
    const entry = reflection.entryPoints.get(program.entryPoint)!;
    const used = [...reflection.bindings.values()].filter((binding) => entry.resources.has(binding.name));
    const where = `${program.name} (${program.shader}:${program.entryPoint})`;
    for (const name of Object.keys(bindings.buffers)) {
      const binding = reflection.bindings.get(name);
      if (!binding || binding.kind !== 'storage') {
        throw new KernelArgumentError(`buffer "${name}" matches no storage variable in ${program.shader}`, program.name);
      }
      if (!entry.resources.has(name)) {
        throw new KernelArgumentError(`buffer "${name}" is not used by entry point ${program.entryPoint}`, program.name);
      }
    }
    const uniformsUsed = used.filter((binding) => binding.kind === 'uniform');
    if (uniformsUsed.length > 1) {
      throw new KernelArgumentError(`${where} uses ${uniformsUsed.length} uniform structs; kernels use one`, program.name);
    }
    if (uniformsUsed.length === 0 && bindings.uniforms) {
      throw new KernelArgumentError(`${where} declares no uniform struct but uniform values were given`, program.name);
    }
    let uniform: { buffer: GPUBuffer; write: (values: UniformValues) => ArrayBuffer } | undefined;
    const resources = new Map<string, GPUBuffer>();
    if (uniformsUsed.length === 1) {
      const layout = reflection.uniforms.get(uniformsUsed[0].name)!;
      const write = (values: UniformValues): ArrayBuffer => packUniforms(layout, values, where);
      const bytes = write(bindings.uniforms ?? {});
      const buffer = this.context.createBuffer(
        `${program.name}.${layout.variable}`,
        bytes.byteLength,
        BufferUsage.UNIFORM | BufferUsage.COPY_DST,
      );
      this.context.device.queue.writeBuffer(buffer, 0, bytes);
      uniform = { buffer, write };
      resources.set(layout.variable, buffer);
    }
    for (const binding of used.filter((item) => item.kind === 'storage')) {
      const buffer = bindings.buffers[binding.name];
      if (!buffer) throw new KernelArgumentError(`storage buffer "${binding.name}" was not given`, program.name);
      resources.set(binding.name, buffer);
    }
    const groups = [...new Set(used.map((binding) => binding.group))].sort((a, b) => a - b);
    let bindGroups: { group: number; bindGroup: GPUBindGroup }[];
    try {
      bindGroups = await this.context.scoped(`binding ${where}`, program.name, () =>
        groups.map((group) => ({
          group,
          bindGroup: this.context.device.createBindGroup({
            label: `${program.name} group ${group}`,
            layout: pipeline.getBindGroupLayout(group),
            entries: used
              .filter((binding) => binding.group === group)
              .map((binding) => ({ binding: binding.binding, resource: { buffer: resources.get(binding.name)! } })),
          }),
        })),
      );
    } catch (error) {
      this.context.release(uniform?.buffer);
      throw error;
    }
    return new BoundKernel(program, pipeline, bindGroups, uniform, this.context);
  }

  /**
   * Encodes and submits `steps` as one command buffer. In debug mode the submission runs inside error scopes and
   * waits for completion, so a failure names its kernels.
   */
  async submit(label: string, encodeSteps: (pass: GPUComputePassEncoder) => void, kernels: string[] = []): Promise<void> {
    await this.submitCommands(
      label,
      (encoder) => {
        const pass = encoder.beginComputePass({ label });
        encodeSteps(pass);
        pass.end();
      },
      kernels,
    );
  }

  /** Like `submit`, for work that mixes compute passes with copies: `encode` records into the command encoder. */
  async submitCommands(label: string, encode: (encoder: GPUCommandEncoder) => void, kernels: string[] = []): Promise<void> {
    const device = this.context.device;
    const run = (): void => {
      const encoder = device.createCommandEncoder({ label });
      encode(encoder);
      device.queue.submit([encoder.finish()]);
    };
    if (this.context.debug) {
      await this.context.scoped(`running ${label}`, kernels.join(', ') || undefined, run);
      await this.context.finish(label);
    } else {
      this.context.checkHealth(label);
      run();
    }
  }
}
