// Errors across the worker boundary. A structured clone of an Error keeps neither its class nor its extra fields, so
// the worker sends the name, message and stack (and a NonFiniteError's fit), and the app's side rebuilds an error of
// the same class for the library's own errors and the built-in ones, so that `instanceof DataError` and the message
// an app shows are what the same call gives in the app's own thread.
import { NonFiniteError } from '../api/fit.js';
import { DeviceLostError } from '../gpu/errors.js';
import { DataError } from '../model/data.js';
import { ModelFormatError } from '../model/json.js';
import type { WireError } from './protocol.js';

export function errorToWire(error: unknown, aborted: boolean): WireError {
  const wire: WireError = error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : { name: 'Error', message: String(error) };
  if (aborted) wire.aborted = true;
  if (error instanceof NonFiniteError) wire.result = error.result;
  return wire;
}

const REBUILD: Record<string, (wire: WireError) => Error> = {
  DataError: (wire) => new DataError(wire.message),
  ModelFormatError: (wire) => new ModelFormatError(wire.message),
  NonFiniteError: (wire) => (wire.result ? new NonFiniteError(wire.message, wire.result) : new Error(wire.message)),
  DeviceLostError: (wire) => new DeviceLostError(wire.message),
  RangeError: (wire) => new RangeError(wire.message),
  TypeError: (wire) => new TypeError(wire.message),
};

/** An error of the class the worker threw (else a plain Error of that name), with its message and the worker's stack. */
export function errorFromWire(wire: WireError): Error {
  const error = (REBUILD[wire.name] ?? ((given: WireError) => new Error(given.message)))(wire);
  error.name = wire.name;
  if (wire.stack) error.stack = wire.stack;
  return error;
}
