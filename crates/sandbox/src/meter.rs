//! One function body rewritten: metered with fuel, its NaNs made canonical, its calls counted.
//!
//! **The cost table.** Every instruction of the submitter's costs [`INSTRUCTION_COST`] (1). A
//! run of instructions (up to and including the next `loop`, `if`, `else`, `end`, branch,
//! `return` or `unreachable`; a `block` or a call does not end it, since what follows them
//! always follows) pays the sum of its costs *before* it runs, so a loop pays its body on every
//! iteration and a trap inside a run has already paid for all of it. Only some runs check that
//! fuel is left: a function's first and the first of each loop body. No code repeats without passing a check, so a module out of
//! fuel stops within a bounded stretch of straight-line code, at the same place on every engine;
//! a call that returns with the fuel below zero ran out all the same (the runner says so). Operations whose work grows with an operand pay for it too, just before they run:
//! `memory.fill`, `memory.copy` and `memory.init` one per [`BYTES_PER_FUEL`] bytes; `table.fill`,
//! `table.copy`, `table.init` and `table.grow` one per element; `memory.grow` [`FUEL_PER_PAGE`]
//! per page. Fuel is an `i64` that counts down; a charge that takes it below zero traps.
//!
//! **NaNs.** Engines may give a NaN any payload. After each operation that can make a NaN from
//! non-NaN inputs or pass one on (arithmetic, `min`/`max`, rounding, `sqrt`, conversions between
//! widths, scalar and SIMD), a NaN is replaced by the canonical one (`0x7fc00000`,
//! `0x7ff8000000000000`, in each lane). Operations that only move bits (`abs`, `neg`,
//! `copysign`, loads, `reinterpret`, `pmin`/`pmax`) are left alone: every engine gives the same
//! bits.
//!
//! **Calls.** The body is wrapped in a block of the function's results, so a branch to the
//! function's own label ends the block instead; entering the function adds one to the depth
//! global (and traps past the bound), and leaving it (after the block, or at a `return`) takes
//! one off.
//!
//! The inserted code is not charged: the cost table counts the submitter's instructions only.

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{BlockType, Function, Ieee32, Ieee64, Instruction, ValType};
use wasmparser::{FunctionBody, Operator};

use crate::SandboxError;

/// What one instruction costs.
pub const INSTRUCTION_COST: i64 = 1;
/// Bytes set, copied or initialized for one fuel.
pub const BYTES_PER_FUEL: i64 = 64;
/// Fuel one page of `memory.grow` costs (it zeroes 64 KiB).
pub const FUEL_PER_PAGE: i64 = 1024;

/// Where the rewritten body finds the sandbox's globals and its own scratch locals.
pub(crate) struct Frame {
    /// The fuel global.
    pub(crate) fuel: u32,
    /// The depth global.
    pub(crate) depth: u32,
    /// The most calls in progress.
    pub(crate) max_depth: u32,
    /// Parameters of the function (its first locals).
    pub(crate) params: u32,
    /// The block type of the function's results.
    pub(crate) results: BlockType,
}

/// Scratch locals appended to each function: one of each type the rewrite needs.
const SCRATCH: [ValType; 5] = [
    ValType::I32,
    ValType::I64,
    ValType::F32,
    ValType::F64,
    ValType::V128,
];

/// How an operation's size is charged, by the operand on top of the stack.
#[derive(Clone, Copy)]
enum Dynamic {
    /// Bytes: one fuel per [`BYTES_PER_FUEL`].
    Bytes,
    /// Elements: one fuel each.
    Elements,
    /// Pages: [`FUEL_PER_PAGE`] each.
    Pages,
}

/// Which canonical NaN a result needs.
#[derive(Clone, Copy)]
enum Nan {
    F32,
    F64,
    F32x4,
    F64x2,
}

/// The body rewritten.
pub(crate) fn rewrite(body: &FunctionBody<'_>, frame: &Frame) -> Result<Function, SandboxError> {
    let invalid = |e: wasmparser::BinaryReaderError| SandboxError::Invalid(e.to_string());
    let mut locals: Vec<(u32, ValType)> = Vec::new();
    let mut declared = 0u32;
    let mut reencoder = RoundtripReencoder;
    for local in body.get_locals_reader().map_err(invalid)? {
        let (count, ty) = local.map_err(invalid)?;
        declared = declared.saturating_add(count);
        let ty = reencoder
            .val_type(ty)
            .map_err(|e| SandboxError::Invalid(e.to_string()))?;
        locals.push((count, ty));
    }
    let scratch = frame.params.saturating_add(declared);
    locals.extend(SCRATCH.iter().map(|&t| (1, t)));
    let mut out = Body {
        function: Function::new(locals),
        frame,
        scratch,
        run: Vec::new(),
        cost: 0,
        // The function's first run checks: a recursion pays before it goes deeper.
        check: true,
    };
    out.enter();
    out.emit(&Instruction::Block(frame.results));
    let mut nesting = 0u32;
    let mut reader = body.get_operators_reader().map_err(invalid)?;
    while !reader.eof() {
        let op = reader.read().map_err(invalid)?;
        let boundary = match &op {
            // Entering a block, and coming back from a call, always follow the code before:
            // they stay in its run (a callee checks its fuel on entry).
            Operator::Block { .. } => {
                nesting += 1;
                false
            }
            Operator::Loop { .. } | Operator::If { .. } => {
                nesting += 1;
                true
            }
            Operator::End if nesting == 0 => {
                // The function's own end: it closes the wrapping block, then the call ends.
                out.push(Instruction::End);
                out.flush();
                out.leave();
                out.emit(&Instruction::End);
                continue;
            }
            Operator::End => {
                nesting -= 1;
                true
            }
            Operator::Else
            | Operator::Br { .. }
            | Operator::BrIf { .. }
            | Operator::BrTable { .. }
            | Operator::Unreachable => true,
            Operator::Return => {
                out.leave_in_run();
                true
            }
            _ => false,
        };
        if let Some(dynamic) = dynamic_cost(&op) {
            out.charge_dynamic(dynamic);
        }
        let nan = nan_result(&op);
        let instruction = reencoder
            .instruction(op)
            .map_err(|e| SandboxError::Invalid(e.to_string()))?;
        out.push(instruction);
        if let Some(nan) = nan {
            out.canonicalize(nan);
        }
        if boundary {
            // A loop's body checks on every iteration, a function on entry; other runs only
            // subtract: no code repeats without passing a check.
            let loops = matches!(out.run.last(), Some(Instruction::Loop(_)));
            out.flush();
            out.check = loops;
        }
    }
    Ok(out.function)
}

/// A body being written: the instructions of the current run wait until its cost is known.
struct Body<'f, 'a> {
    function: Function,
    frame: &'f Frame,
    /// The first scratch local.
    scratch: u32,
    run: Vec<Instruction<'a>>,
    cost: i64,
    /// Whether the current run's charge checks the sign.
    check: bool,
}

impl<'a> Body<'_, 'a> {
    fn emit(&mut self, i: &Instruction<'_>) {
        self.function.instruction(i);
    }

    /// A submitter's instruction, counted in the run's cost.
    fn push(&mut self, i: Instruction<'a>) {
        self.run.push(i);
        self.cost += INSTRUCTION_COST;
    }

    /// An instruction of the sandbox's own, in the run, not counted.
    fn own(&mut self, i: Instruction<'a>) {
        self.run.push(i);
    }

    /// The run so far: its charge, then its instructions.
    fn flush(&mut self) {
        if self.cost > 0 {
            let cost = self.cost;
            if self.check {
                self.emit_charge(|f| {
                    f.emit(&Instruction::I64Const(cost));
                });
            } else {
                let fuel = self.frame.fuel;
                self.emit(&Instruction::GlobalGet(fuel));
                self.emit(&Instruction::I64Const(cost));
                self.emit(&Instruction::I64Sub);
                self.emit(&Instruction::GlobalSet(fuel));
            }
        }
        for i in std::mem::take(&mut self.run) {
            self.function.instruction(&i);
        }
        self.cost = 0;
    }

    /// `fuel -= amount` (what `amount` pushes), then a trap if it went below zero.
    fn emit_charge(&mut self, amount: impl FnOnce(&mut Self)) {
        let fuel = self.frame.fuel;
        self.emit(&Instruction::GlobalGet(fuel));
        amount(self);
        self.emit(&Instruction::I64Sub);
        self.emit(&Instruction::GlobalSet(fuel));
        self.emit(&Instruction::GlobalGet(fuel));
        self.emit(&Instruction::I64Const(0));
        self.emit(&Instruction::I64LtS);
        self.emit(&Instruction::If(BlockType::Empty));
        self.emit(&Instruction::Unreachable);
        self.emit(&Instruction::End);
    }

    /// The same charge, inside the run (the amount is in the i64 scratch local).
    fn own_charge_from_scratch(&mut self) {
        let (fuel, t64) = (self.frame.fuel, self.scratch + 1);
        for i in [
            Instruction::GlobalGet(fuel),
            Instruction::LocalGet(t64),
            Instruction::I64Sub,
            Instruction::GlobalSet(fuel),
            Instruction::GlobalGet(fuel),
            Instruction::I64Const(0),
            Instruction::I64LtS,
            Instruction::If(BlockType::Empty),
            Instruction::Unreachable,
            Instruction::End,
        ] {
            self.own(i);
        }
    }

    /// Pays for an operation's size, read from the `i32` on top of the stack (left in place).
    fn charge_dynamic(&mut self, dynamic: Dynamic) {
        let (t32, t64) = (self.scratch, self.scratch + 1);
        self.own(Instruction::LocalTee(t32));
        self.own(Instruction::I64ExtendI32U);
        match dynamic {
            Dynamic::Bytes => {
                self.own(Instruction::I64Const(
                    BYTES_PER_FUEL.trailing_zeros().into(),
                ));
                self.own(Instruction::I64ShrU);
            }
            Dynamic::Elements => {}
            Dynamic::Pages => {
                self.own(Instruction::I64Const(FUEL_PER_PAGE));
                self.own(Instruction::I64Mul);
            }
        }
        self.own(Instruction::LocalSet(t64));
        self.own_charge_from_scratch();
        self.own(Instruction::LocalGet(t32));
    }

    /// Replaces a NaN on top of the stack by the canonical one.
    fn canonicalize(&mut self, nan: Nan) {
        let (t, canonical, ne, pick) = match nan {
            Nan::F32 => (
                self.scratch + 2,
                Instruction::F32Const(Ieee32::new(0x7fc0_0000)),
                Instruction::F32Ne,
                Instruction::Select,
            ),
            Nan::F64 => (
                self.scratch + 3,
                Instruction::F64Const(Ieee64::new(0x7ff8_0000_0000_0000)),
                Instruction::F64Ne,
                Instruction::Select,
            ),
            Nan::F32x4 => (
                self.scratch + 4,
                Instruction::V128Const(i128::from_le_bytes(
                    [0x7fc0_0000u32.to_le_bytes(); 4]
                        .concat()
                        .try_into()
                        .unwrap_or([0; 16]),
                )),
                Instruction::F32x4Ne,
                Instruction::V128Bitselect,
            ),
            Nan::F64x2 => (
                self.scratch + 4,
                Instruction::V128Const(i128::from_le_bytes(
                    [0x7ff8_0000_0000_0000u64.to_le_bytes(); 2]
                        .concat()
                        .try_into()
                        .unwrap_or([0; 16]),
                )),
                Instruction::F64x2Ne,
                Instruction::V128Bitselect,
            ),
        };
        // [v] → [canonical, v, v != v] → select / bitselect: canonical where v is a NaN.
        self.own(Instruction::LocalSet(t));
        self.own(canonical);
        self.own(Instruction::LocalGet(t));
        self.own(Instruction::LocalGet(t));
        self.own(Instruction::LocalGet(t));
        self.own(ne);
        self.own(pick);
    }

    /// The call begins: depth + 1, a trap past the bound.
    fn enter(&mut self) {
        let depth = self.frame.depth;
        for i in [
            Instruction::GlobalGet(depth),
            Instruction::I32Const(1),
            Instruction::I32Add,
            Instruction::GlobalSet(depth),
            Instruction::GlobalGet(depth),
            Instruction::I32Const(i32::try_from(self.frame.max_depth).unwrap_or(i32::MAX)),
            Instruction::I32GtU,
            Instruction::If(BlockType::Empty),
            Instruction::Unreachable,
            Instruction::End,
        ] {
            self.emit(&i);
        }
    }

    /// The call ends: depth − 1.
    fn leave(&mut self) {
        for i in leave_instructions(self.frame.depth) {
            self.emit(&i);
        }
    }

    /// The call ends at a `return` in the run.
    fn leave_in_run(&mut self) {
        for i in leave_instructions(self.frame.depth) {
            self.own(i);
        }
    }
}

fn leave_instructions(depth: u32) -> [Instruction<'static>; 4] {
    [
        Instruction::GlobalGet(depth),
        Instruction::I32Const(1),
        Instruction::I32Sub,
        Instruction::GlobalSet(depth),
    ]
}

/// Whether `op`'s work grows with an operand, and how it is charged.
fn dynamic_cost(op: &Operator<'_>) -> Option<Dynamic> {
    match op {
        Operator::MemoryFill { .. } | Operator::MemoryCopy { .. } | Operator::MemoryInit { .. } => {
            Some(Dynamic::Bytes)
        }
        Operator::TableFill { .. }
        | Operator::TableCopy { .. }
        | Operator::TableInit { .. }
        | Operator::TableGrow { .. } => Some(Dynamic::Elements),
        Operator::MemoryGrow { .. } => Some(Dynamic::Pages),
        _ => None,
    }
}

/// The canonical NaN `op`'s result needs, if it may be a NaN of an engine's choosing.
fn nan_result(op: &Operator<'_>) -> Option<Nan> {
    use Operator as O;
    Some(match op {
        O::F32Add
        | O::F32Sub
        | O::F32Mul
        | O::F32Div
        | O::F32Sqrt
        | O::F32Min
        | O::F32Max
        | O::F32Ceil
        | O::F32Floor
        | O::F32Trunc
        | O::F32Nearest
        | O::F32DemoteF64 => Nan::F32,
        O::F64Add
        | O::F64Sub
        | O::F64Mul
        | O::F64Div
        | O::F64Sqrt
        | O::F64Min
        | O::F64Max
        | O::F64Ceil
        | O::F64Floor
        | O::F64Trunc
        | O::F64Nearest
        | O::F64PromoteF32 => Nan::F64,
        O::F32x4Add
        | O::F32x4Sub
        | O::F32x4Mul
        | O::F32x4Div
        | O::F32x4Sqrt
        | O::F32x4Min
        | O::F32x4Max
        | O::F32x4Ceil
        | O::F32x4Floor
        | O::F32x4Trunc
        | O::F32x4Nearest
        | O::F32x4DemoteF64x2Zero => Nan::F32x4,
        O::F64x2Add
        | O::F64x2Sub
        | O::F64x2Mul
        | O::F64x2Div
        | O::F64x2Sqrt
        | O::F64x2Min
        | O::F64x2Max
        | O::F64x2Ceil
        | O::F64x2Floor
        | O::F64x2Trunc
        | O::F64x2Nearest
        | O::F64x2PromoteLowF32x4 => Nan::F64x2,
        _ => return None,
    })
}
