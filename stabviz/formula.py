"""A user's formula f(x, y) as torch calls: parsed with :mod:`ast`, checked against a whitelist of nodes,
names, functions and bounded numbers, then compiled into closures. Nothing is ever passed to ``eval``."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

import torch

Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

MAX_FORMULA = 200  # characters
MAX_NODES = 120  # syntax-tree nodes in a formula
MAX_EXPONENT = 16.0  # largest |p| in x ** p
MAX_CONSTANT = 1e6  # largest |c| of a number written in a formula

FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sin": torch.sin, "cos": torch.cos, "tan": torch.tan, "atan": torch.atan,
    "sinh": torch.sinh, "cosh": torch.cosh, "tanh": torch.tanh, "exp": torch.exp,
    "log": torch.log, "log1p": torch.log1p, "sqrt": torch.sqrt, "abs": torch.abs,
    "sigmoid": torch.sigmoid, "relu": torch.relu, "softplus": torch.nn.functional.softplus,
}
CONSTANTS = {"pi": math.pi, "e": math.e}
BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
          ast.Pow: operator.pow}
UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant, ast.Load,
           *BINARY, *UNARY)


def parse_formula(text: str) -> ast.Expression:
    """The checked syntax tree of a formula in x and y; ValueError says what is not allowed."""
    if len(text) > MAX_FORMULA:
        raise ValueError(f"longer than {MAX_FORMULA} characters")
    try:
        tree = ast.parse(text.replace("^", "**").strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError) as err:
        raise ValueError("not a formula in x and y") from err
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ValueError(f"more than {MAX_NODES} terms")
    for node in nodes:
        _check_node(node)
    return tree


def _check_node(node: ast.AST) -> None:
    """Reject every node type, name, number and call outside the whitelist."""
    if not isinstance(node, ALLOWED):
        raise ValueError(f"'{type(node).__name__}' is not allowed")
    if isinstance(node, ast.Name) and node.id not in ("x", "y", *CONSTANTS, *FUNCTIONS):
        raise ValueError(f"unknown name '{node.id}'")
    if isinstance(node, ast.Constant):
        _check_number(node.value)
    if isinstance(node, ast.Call):
        _check_call(node)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        _check_exponent(node.right)


def _check_number(value: object) -> None:
    """Plain int or float literals of bounded size only (no strings, bools, complex)."""
    if type(value) not in (int, float):
        raise ValueError(f"the literal {str(value)[:20]!r} is not a number")
    if not abs(value) <= MAX_CONSTANT:
        raise ValueError(f"numbers must lie within ±{MAX_CONSTANT:g}")


def _check_call(node: ast.Call) -> None:
    """A call is one whitelisted function applied to exactly one argument."""
    if not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
        name = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
        raise ValueError(f"'{name}' is not one of the functions {', '.join(FUNCTIONS)}")
    if len(node.args) != 1 or node.keywords:
        raise ValueError(f"{node.func.id}() takes one argument")


def _check_exponent(node: ast.AST) -> None:
    """An exponent is a number (maybe negated) of magnitude at most MAX_EXPONENT."""
    sign = 1.0
    if isinstance(node, ast.UnaryOp):
        sign, node = (-1.0 if isinstance(node.op, ast.USub) else 1.0), node.operand
    if not (isinstance(node, ast.Constant) and type(node.value) in (int, float)):
        raise ValueError("an exponent must be a plain number")
    if abs(sign * node.value) > MAX_EXPONENT:
        raise ValueError(f"exponents must lie within ±{MAX_EXPONENT:g}")


def check_formula(text: str) -> None:
    """The ``check=`` of the formula parameter: raises ValueError for anything unsafe or malformed."""
    tree = parse_formula(text)
    if not any(isinstance(n, ast.Name) and n.id in ("x", "y") for n in ast.walk(tree)):
        raise ValueError("the formula must use x or y")
    if any(isinstance(n, ast.Name) and n.id in FUNCTIONS for n in ast.walk(tree) if not _is_callee(tree, n)):
        raise ValueError("a function name must be called, e.g. sin(x)")


def _is_callee(tree: ast.AST, name: ast.Name) -> bool:
    """Whether a name node is the function of some call in the tree."""
    return any(isinstance(c, ast.Call) and c.func is name for c in ast.walk(tree))


def compile_formula(text: str) -> Fn:
    """A torch function f(x, y) built from the checked tree (closures over torch ops, no eval)."""
    check_formula(text)
    return _compile(parse_formula(text).body)


def _compile(node: ast.AST) -> Fn:
    """Turn one checked node into a function of the x and y tensors."""
    if isinstance(node, ast.BinOp):
        op, left, right = BINARY[type(node.op)], _compile(node.left), _compile(node.right)
        return lambda x, y: op(left(x, y), right(x, y))
    if isinstance(node, ast.UnaryOp):
        op, inner = UNARY[type(node.op)], _compile(node.operand)
        return lambda x, y: op(inner(x, y))
    if isinstance(node, ast.Call):
        fn, inner = FUNCTIONS[node.func.id], _compile(node.args[0])
        return lambda x, y: fn(inner(x, y))
    if isinstance(node, ast.Name) and node.id in ("x", "y"):
        return (lambda x, y: x) if node.id == "x" else (lambda x, y: y)
    value = float(CONSTANTS[node.id]) if isinstance(node, ast.Name) else float(node.value)
    return lambda x, y: torch.full_like(x, value)
