import COpenCL

/// An OpenCL status other than CL_SUCCESS becomes saegeo's one error type, naming the device first
/// (`opencl:1: OpenCL clEnqueueWriteBuffer failed with CL_OUT_OF_RESOURCES (-5): key tile`), so a
/// failure mid-run on one of several devices says which.
enum OpenCLError {
    static func name(_ code: Int32) -> String { names[code] ?? "CL_ERROR" }

    static func make(_ code: Int32, call: String, device: String, detail: String = "") -> SaegeoError {
        SaegeoError(.device, "\(device): OpenCL \(call) failed with \(name(code)) (\(code))" + (detail.isEmpty ? "" : ": \(detail)"),
                    code: .openCL(code))
    }

    /// Turns a status into a thrown error; every OpenCL call goes through here.
    static func check(_ status: cl_int, _ call: String, device: String, _ detail: @autoclosure () -> String = "") throws {
        if status != CL_SUCCESS { throw make(status, call: call, device: device, detail: detail()) }
    }

    private static let names: [Int32: String] = [
        -1: "CL_DEVICE_NOT_FOUND", -2: "CL_DEVICE_NOT_AVAILABLE", -3: "CL_COMPILER_NOT_AVAILABLE",
        -4: "CL_MEM_OBJECT_ALLOCATION_FAILURE", -5: "CL_OUT_OF_RESOURCES", -6: "CL_OUT_OF_HOST_MEMORY",
        -11: "CL_BUILD_PROGRAM_FAILURE", -30: "CL_INVALID_VALUE", -32: "CL_INVALID_PLATFORM",
        -33: "CL_INVALID_DEVICE", -34: "CL_INVALID_CONTEXT", -36: "CL_INVALID_COMMAND_QUEUE",
        -38: "CL_INVALID_MEM_OBJECT", -44: "CL_INVALID_PROGRAM", -45: "CL_INVALID_PROGRAM_EXECUTABLE",
        -46: "CL_INVALID_KERNEL_NAME", -48: "CL_INVALID_KERNEL", -49: "CL_INVALID_ARG_INDEX",
        -50: "CL_INVALID_ARG_VALUE", -51: "CL_INVALID_ARG_SIZE", -52: "CL_INVALID_KERNEL_ARGS",
        -53: "CL_INVALID_WORK_DIMENSION", -54: "CL_INVALID_WORK_GROUP_SIZE", -55: "CL_INVALID_WORK_ITEM_SIZE",
        -56: "CL_INVALID_GLOBAL_OFFSET", -61: "CL_INVALID_BUFFER_SIZE", -63: "CL_INVALID_GLOBAL_WORK_SIZE",
        -1001: "CL_PLATFORM_NOT_FOUND_KHR",
    ]
}
