/// The pickle opcodes saegeo refuses, by name, for messages: the ones that create arbitrary
/// objects (INST, OBJ, NEWOBJ, EXT*), the text forms of protocol 0 and the sets, buffers and
/// persistent ids a torch.save state dict never writes.
enum PickleOpcodes {
    static func name(_ opcode: UInt8) -> String {
        let names: [UInt8: String] = [
            0x69: "INST", 0x6F: "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
            0x50: "PERSID", 0x49: "INT", 0x4C: "LONG", 0x46: "FLOAT", 0x53: "STRING", 0x56: "UNICODE",
            0x64: "DICT", 0x6C: "LIST", 0x70: "PUT", 0x67: "GET", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS",
            0x91: "FROZENSET", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
        ]
        return names[opcode] ?? "unknown"
    }
}
