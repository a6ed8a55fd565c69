/**
 * The class-validator decorators and checks this service uses, each loaded from its own file.
 * class-validator's index loads every validator it has (all of validator.js and libphonenumber-js's
 * metadata): ~0.15–0.2 s of CPU in every server start for the dozen used here (BENCHMARKS.md,
 * embedded-rest). The same files the index would load, so the metadata the decorators record is the
 * one the Validator reads. Their types are class-validator's own (`types/`, mapped in tsconfig.json);
 * import types from 'class-validator' as before (erased, nothing loaded). A decorator not listed here:
 * add it from its file (node_modules/class-validator/cjs/decorator/).
 */
export { ArrayMaxSize } from 'class-validator/cjs/decorator/array/ArrayMaxSize';
export { ArrayMinSize } from 'class-validator/cjs/decorator/array/ArrayMinSize';
export { IsIn } from 'class-validator/cjs/decorator/common/IsIn';
export { IsOptional } from 'class-validator/cjs/decorator/common/IsOptional';
export { ValidateNested } from 'class-validator/cjs/decorator/common/ValidateNested';
export { Max } from 'class-validator/cjs/decorator/number/Max';
export { Min } from 'class-validator/cjs/decorator/number/Min';
export { IsEmail, isEmail } from 'class-validator/cjs/decorator/string/IsEmail';
export { Length } from 'class-validator/cjs/decorator/string/Length';
export { Matches } from 'class-validator/cjs/decorator/string/Matches';
export { IsBoolean } from 'class-validator/cjs/decorator/typechecker/IsBoolean';
export { IsInt } from 'class-validator/cjs/decorator/typechecker/IsInt';
export { IsNumber } from 'class-validator/cjs/decorator/typechecker/IsNumber';
export { Validator } from 'class-validator/cjs/validation/Validator';
