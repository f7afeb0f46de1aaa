#![no_main]
use hanko_card::Command;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = Command::parse(data) {
        // Whatever parses encodes to a command that parses to the same fields.
        let again = cmd.encode();
        let back = Command::parse(&again).expect("an encoded command parses");
        assert_eq!((back.cla, back.ins, back.p1, back.p2, back.data, back.le), (cmd.cla, cmd.ins, cmd.p1, cmd.p2, cmd.data, cmd.le));
    }
});
