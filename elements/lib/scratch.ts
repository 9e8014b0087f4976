// The scratch column lives with the element helpers in core/ (they need it too).
export { ScratchInt32 } from '../../core/element-helpers/scratch.js';
