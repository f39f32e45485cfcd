"""The condition language: grammar, quoting, precedence, every operator, error messages."""

from __future__ import annotations

import pytest

from mamori.runtime.events import Container, DnsCache, FdInfo, Mount, Process
from mamori.runtime.rules.codegen import generate
from mamori.runtime.rules.compiler import CompileError, Compiler
from mamori.runtime.rules.condition import (
    And,
    Compare,
    ConditionError,
    Exists,
    ListCompare,
    MacroRef,
    Not,
    Or,
    parse,
)
from tests.runtime.helpers import event

SHADOW = FdInfo(3, "file", "/etc/shadow")
SOCK = FdInfo(5, "ipv4", l4proto="tcp", cip="172.17.0.5", cport=40000, sip="203.0.113.9", sport=443)


def check(condition: str, ev: object, **lists: tuple[str, ...]) -> bool:
    compiled = Compiler({"is_cat": parse("proc.name = cat")}, lists).compile(parse(condition))
    return compiled.test(ev)  # type: ignore[arg-type]


def test_precedence_not_binds_tighter_than_and_than_or() -> None:
    assert parse("a or b and not c") == Or(
        (MacroRef("a", 0), And((MacroRef("b", 5), Not(MacroRef("c", 15)))))
    )
    assert parse("not a and b") == And((Not(MacroRef("a", 4)), MacroRef("b", 10)))
    assert parse("(a or b) and c") == And(
        (Or((MacroRef("a", 1), MacroRef("b", 6))), MacroRef("c", 13))
    )
    assert parse("not not a") == Not(Not(MacroRef("a", 8)))


def test_fields_with_arguments_and_values() -> None:
    node = parse("proc.aname[2]=sh and container.mount.dest[/etc*] exists and evt.arg[0] = 3")
    assert isinstance(node, And)
    first, second, third = node.operands
    assert isinstance(first, Compare) and (first.field.name, first.field.arg) == ("proc.aname", "2")
    assert isinstance(second, Exists) and second.field.arg == "/etc*"
    assert isinstance(third, Compare) and (third.field.arg, third.value) == ("0", "3")


def test_quoting_rules() -> None:
    node = parse(r"""proc.cmdline = "sh -c \"x\"" or proc.name = 'it\'s' or fd.name = a\b""")
    assert isinstance(node, Or)
    values = [op.value for op in node.operands if isinstance(op, Compare)]
    assert values == ['sh -c "x"', "it's", "a\\b"]
    lst = parse("proc.name in (a, \"b c\", runc:[0:PARENT], 'd,e')")
    assert isinstance(lst, ListCompare)
    assert lst.values == ("a", "b c", "runc:[0:PARENT]", "d,e")
    assert lst.names == (0, 2)  # only bare items may name a list


def test_empty_list_and_list_reference() -> None:
    empty = parse("proc.name in ()")
    assert isinstance(empty, ListCompare) and empty.values == ()
    ref = parse("proc.name in shells")
    assert isinstance(ref, ListCompare) and ref.ref == "shells"


@pytest.mark.parametrize(
    ("text", "message", "pos"),
    [
        ("proc.name =", "unexpected end of condition", 11),
        ("proc.name in (a", "unexpected end of condition", 15),
        ("proc.name ~ x", "unexpected ~ (expected a list operator, an operator, exists)", 10),
        ("proc.name = a)", "unexpected ) (expected", 13),
        ('proc.name = "abc', "unterminated string", 12),
        ("proc.name = a b", "unexpected b", 14),
        ("(a", "unexpected end of condition", 2),
        ("a and", "unexpected end of condition", 5),
    ],
)
def test_syntax_errors_name_the_offset(text: str, message: str, pos: int) -> None:
    with pytest.raises(ConditionError) as caught:
        parse(text)
    assert caught.value.message.startswith(message)
    assert caught.value.pos == pos


def test_string_operators() -> None:
    ev = event(fd=SHADOW)
    true = [
        "fd.name = /etc/shadow",
        "fd.name == /etc/shadow",
        "fd.name != /etc/passwd",
        "fd.name contains shad",
        "fd.name icontains SHAD",
        "fd.name startswith /etc/",
        "fd.name bstartswith 2f657463",
        "fd.name bcontains 736861",
        "fd.name endswith dow",
        "fd.name glob '/etc/*'",
        "fd.name iglob '/ETC/SH*'",
        "fd.name pmatch (/etc, /usr)",
        "fd.name pmatch (/etc/shadow)",
        "fd.name in (/etc/passwd, /etc/shadow)",
        "fd.name intersects (/etc/shadow)",
        "fd.name regex '/etc/s[a-z]+'",
        "fd.name exists",
        "fd.directory = /etc and fd.filename = shadow",
        "fd.name > /etc/passwd and fd.name >= /etc/shadow and fd.name < /usr",
        "fd.name <= /etc/shadow",
    ]
    false = [
        "fd.name = /etc/passwd",
        "fd.name != /etc/shadow",
        "fd.name contains SHAD",
        "fd.name startswith /usr",
        "fd.name endswith sha",
        "fd.name glob '/usr/*'",
        "fd.name pmatch (/et, /etc/shadow/x)",
        "fd.name in (/etc/passwd)",
        "fd.name regex 'shadow'",  # regex matches the whole value, as RE2 FullMatch
        "fd.name bcontains 00",
        "fd.sip exists",
    ]
    assert [c for c in true if not check(c, ev)] == []
    assert [c for c in false if check(c, ev)] == []


def test_numeric_and_boolean_operators() -> None:
    ev = event(fd=SHADOW, res=3, args={"flags": 0o1101, "fd": 3})
    for condition in (
        "fd.num = 3",
        "fd.num >= 0",
        "fd.num > 2 and fd.num < 4 and fd.num <= 3",
        "fd.num in (1, 2, 3)",
        "evt.rawres = 3",
        "evt.is_open_write = true and evt.is_open_read = false",
        "evt.arg.flags contains O_TRUNC and evt.arg.flags startswith O_WRONLY",
        "evt.arg[1] = 3",
        "fd.num = 0x3",
    ):
        assert check(condition, ev), condition
    assert not check("fd.num != 3", ev)
    assert not check("fd.num < 3", ev)


def test_missing_values_fail_every_comparison_but_exists() -> None:
    ev = event()  # no fd
    for condition in ("fd.name = x", "fd.name != x", "fd.num < 0", "fd.name exists"):
        assert not check(condition, ev), condition
    assert check("not fd.name exists", ev)


def test_network_fields() -> None:
    dns = DnsCache()
    dns.add("pool.example", ["203.0.113.9"])
    ev = event("connect", fd=SOCK, dns=dns)
    for condition in (
        'fd.name = "172.17.0.5:40000->203.0.113.9:443"',
        "fd.typechar = 4 and fd.type = ipv4 and fd.sockfamily = ip",
        "fd.ip = 172.17.0.5 and fd.ip = 203.0.113.9",
        'fd.net = "172.16.0.0/12" and fd.net != "127.0.0.0/8"',
        'fd.snet in ("203.0.113.0/24") and not fd.cnet in ("10.0.0.0/8")',
        "fd.lip = 172.17.0.5 and fd.rip = 203.0.113.9 and fd.lport = 40000 and fd.rport = 443",
        "fd.sport = 443 and fd.port = 40000 and fd.l4proto = tcp",
        "fd.sip.name = pool.example and fd.sip.name in (a, pool.example)",
    ):
        assert check(condition, ev), condition
    assert not check("fd.ip != 172.17.0.5", ev)
    assert not check("fd.cip.name exists", ev)
    server = FdInfo(
        5,
        "ipv4",
        l4proto="tcp",
        cip="198.51.100.1",
        cport=5000,
        sip="10.0.0.2",
        sport=22,
        is_server=True,
    )
    assert check(
        "fd.lip = 10.0.0.2 and fd.lport = 22 and fd.rnet = '198.51.100.0/24'",
        event("accept", fd=server),
    )


def test_process_ancestry_and_lists() -> None:
    root = Process(1, "systemd")
    proc = Process(30, "sh", parent=Process(20, "nginx", parent=Process(10, "tini", parent=root)))
    ev = event("execve", proc=proc)
    for condition in (
        "proc.aname[1] = nginx and proc.aname[2] = tini and proc.aname[3] = systemd",
        "proc.pname = nginx and proc.aname[0] = sh",
        "proc.aname in (http_servers)",  # any ancestor
        "proc.aname = systemd",
        "proc.name in (shells, zsh)",  # nested lists expanded
        "not proc.aname[4] exists",
    ):
        assert check(condition, ev, http_servers=("nginx", "httpd"), shells=("bash", "sh")), (
            condition
        )
    assert not check("proc.aname = sh", ev)  # ancestors only


def test_container_fields_and_macros() -> None:
    container = Container(
        "3ad7b26ded6d",
        image_repository="nginx",
        privileged=True,
        mounts=(Mount("/var/run/docker.sock", "/run/docker.sock"), Mount("/data", "/srv")),
    )
    ev = event(container=container)
    for condition in (
        "container.id != host and container.privileged = true",
        "container.mount.dest[/var/run/docker*] = /run/docker.sock",
        "container.mount.dest[1] = /srv",
        "not container.mount.dest[/proc*] exists",
        "is_cat and not (container.image.repository in (redis))",
    ):
        assert check(condition, ev), condition


def test_intersects_on_arguments() -> None:
    proc = Process(5, "nc", args=("-l",))
    assert check('proc.args intersects ("-V", "-l")', event("execve", proc=proc))


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("proc.nme = x", "unknown field 'proc.nme'"),
        ("proc.name[2] = x", "field 'proc.name' takes no argument"),
        ("proc.aname[x] = y", "needs a numeric argument"),
        ("evt.arg = x", "needs an argument"),
        ("fd.num = abc", "'abc' is not a valid INT64 value for fd.num"),
        ("fd.sip = 1.2.3", "not a valid IPADDR value"),
        ("container.privileged = maybe", "not a valid BOOL value"),
        ("fd.num contains 3", "operator 'contains' not supported on fd.num (INT64)"),
        ("fd.net pmatch (/x)", "operator 'pmatch' not supported"),
        ("fd.name regex '('", "bad regular expression"),
        ("unknown_macro", "undefined macro 'unknown_macro'"),
        ("proc.name in missing", "undefined list 'missing'"),
    ],
)
def test_semantic_errors(condition: str, message: str) -> None:
    with pytest.raises(CompileError) as caught:
        Compiler({}, {}).compile(parse(condition))
    assert message in caught.value.message


def test_macro_cycle_is_an_error() -> None:
    compiler = Compiler({"a": parse("b"), "b": parse("a")}, {})
    with pytest.raises(CompileError, match="refers to itself"):
        compiler.compile(parse("a"))


def test_event_types_of_a_condition() -> None:
    compiler = Compiler({"spawned": parse("evt.type in (execve, execveat)")}, {})
    types = compiler.compile(parse("spawned and proc.name = sh")).types
    assert not types.negated and types.names == {"execve", "execveat"}
    negated = compiler.compile(parse("not evt.type = open")).types
    assert negated.negated and "open" not in negated and "close" in negated
    # not (A and B) may be true for any type: the type set must not shrink
    assert compiler.compile(parse("not (evt.type = open and proc.name = x)")).types.negated
    either = compiler.compile(parse("evt.type = open or (evt.type = connect and fd.num > 0)"))
    assert either.types.names == {"open", "connect"}


def test_generated_evaluator_folds_event_type_checks() -> None:
    compiler = Compiler({"opened": parse("evt.type in (open, openat)")}, {})
    tree = parse("opened and fd.num >= 0")
    plan, source = generate(compiler, "execve", [tree])
    assert "hits.append" not in source  # cannot match an execve
    assert plan(event("execve")) == []
    plan, source = generate(compiler, "open", [tree])
    assert "e.type" not in source  # the type check is gone
    assert plan(event("open", fd=SHADOW)) == [0]
    assert plan(event("open", fd=None)) == []
