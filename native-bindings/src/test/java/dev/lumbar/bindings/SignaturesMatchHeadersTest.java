package dev.lumbar.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.lang.classfile.Attributes;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.FieldModel;
import java.lang.classfile.MethodModel;
import java.lang.constant.ClassDesc;
import java.lang.constant.ConstantDesc;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Compares every constant and function signature this package declares with the Java mirror
 * of the CUDA headers that JavaCPP generates ({@code org.bytedeco:cuda}), read from its class
 * files: its classes load native code when initialised, and none is present here.
 */
class SignaturesMatchHeadersTest {

    private static final List<String> HEADER_CLASSES = List.of("cudart", "cublas", "cudnn");

    /** Header names of constants whose Java name here follows Java style instead. */
    private static final Map<Class<?>, Map<String, String>> CONSTANT_ALIASES = Map.of(
            CudaRuntime.class, Map.of(
                    "CUDA_SUCCESS", "cudaSuccess",
                    "CUDA_ERROR_INSUFFICIENT_DRIVER", "cudaErrorInsufficientDriver",
                    "CUDA_ERROR_NO_DEVICE", "cudaErrorNoDevice"));

    /** Names under which the mirror declares a function whose header maps it by macro. */
    private static final Map<String, String> FUNCTION_ALIASES = Map.of(
            "cuGraphInstantiateWithFlags", "cuGraphInstantiate");

    private static final Map<String, ClassModel> MODELS = new HashMap<>();

    @Test
    void everyConstantHasTheHeadersValue() throws IOException {
        int checked = 0;
        for (Class<?> binding : List.of(CudaDriver.class, CudaRuntime.class, Cublas.class,
                Cudnn.class)) {
            for (Field field : binding.getDeclaredFields()) {
                int modifiers = field.getModifiers();
                if (!Modifier.isPublic(modifiers) || !Modifier.isStatic(modifiers)
                        || field.getType() != int.class) {
                    continue;
                }
                String headerName = CONSTANT_ALIASES.getOrDefault(binding, Map.of())
                        .getOrDefault(field.getName(), field.getName());
                Optional<ConstantDesc> expected = headerConstant(headerName);
                if (expected.isEmpty()) {
                    fail(binding.getSimpleName() + "." + field.getName() + ": no constant "
                            + headerName + " in the header mirror");
                }
                try {
                    assertEquals(((Number) expected.get()).intValue(), field.getInt(null),
                            binding.getSimpleName() + "." + field.getName());
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
                checked++;
            }
        }
        assertTrue(checked > 50, "checked only " + checked + " constants");
    }

    @Test
    void everyFunctionHasTheHeadersSignature() throws IOException {
        List<NativeFunction> functions = new ArrayList<>();
        functions.addAll(CudaDriver.functions());
        functions.addAll(CudaRuntime.functions());
        functions.addAll(Cublas.functions());
        functions.addAll(Cudnn.functions());
        List<String> mismatches = new ArrayList<>();
        for (NativeFunction function : functions) {
            String ours = signature(function);
            List<String> theirs = headerSignatures(function);
            if (!theirs.contains(ours)) {
                mismatches.add(function.name() + ": ours " + ours + ", header " + theirs);
            }
        }
        assertEquals(List.of(), mismatches);
        assertTrue(functions.size() > 70, "checked only " + functions.size() + " functions");
    }

    @Test
    void algorithmPerformanceStructHasTheHeadersFields() throws IOException {
        // The mirror's accessors follow the C struct's field order and types.
        ClassModel perf = model("org/bytedeco/cuda/cudnn/cudnnConvolutionFwdAlgoPerf_t");
        List<String> fields = new ArrayList<>();
        for (MethodModel method : perf.methods()) {
            String name = method.methodName().stringValue();
            var type = method.methodTypeSymbol();
            boolean getter = type.parameterCount() == 0 && !name.startsWith("<")
                    && type.returnType().isPrimitive() && !type.returnType().equals(
                            java.lang.constant.ConstantDescs.CD_void);
            boolean indexedGetter = type.parameterCount() == 1 && name.equals("reserved")
                    && type.returnType().isPrimitive();
            if ((getter || indexedGetter) && !fields.contains(name)) {
                fields.add(name + ":" + type.returnType().descriptorString());
            }
        }
        List<String> ours = new ArrayList<>();
        for (MemoryLayout member : Cudnn.FWD_ALGO_PERF.memberLayouts()) {
            if (member.name().isEmpty()) {
                continue;
            }
            MemoryLayout element = member instanceof java.lang.foreign.SequenceLayout s
                    ? s.elementLayout() : member;
            ours.add(member.name().get() + ":" + descriptor(element));
        }
        assertEquals(ours, fields.stream().distinct().toList());
        assertEquals(48, Cudnn.FWD_ALGO_PERF.byteSize());
    }

    private static String signature(NativeFunction function) {
        var descriptor = function.descriptor();
        StringBuilder out = new StringBuilder("(");
        for (MemoryLayout argument : descriptor.argumentLayouts()) {
            out.append(descriptor(argument));
        }
        out.append(')');
        out.append(descriptor.returnLayout().map(SignaturesMatchHeadersTest::descriptor)
                .orElse("V"));
        return out.toString();
    }

    private static String descriptor(MemoryLayout layout) {
        if (layout instanceof AddressLayout) {
            return "P";
        }
        ValueLayout value = (ValueLayout) layout;
        return ClassDesc.ofDescriptor(value.carrier().descriptorString()).descriptorString();
    }

    /** Signatures of every overload of the function in the mirror, pointers written P. */
    private static List<String> headerSignatures(NativeFunction function) throws IOException {
        List<String> names = new ArrayList<>();
        for (String symbol : function.symbols()) {
            names.add(symbol);
            names.add(symbol.replaceFirst("_v2$", ""));
            if (FUNCTION_ALIASES.containsKey(symbol)) {
                names.add(FUNCTION_ALIASES.get(symbol));
            }
        }
        List<String> out = new ArrayList<>();
        for (String headerClass : HEADER_CLASSES) {
            for (MethodModel method : model("org/bytedeco/cuda/global/" + headerClass)
                    .methods()) {
                if (!names.contains(method.methodName().stringValue())) {
                    continue;
                }
                var type = method.methodTypeSymbol();
                StringBuilder sig = new StringBuilder("(");
                for (ClassDesc parameter : type.parameterList()) {
                    sig.append(javaToC(parameter));
                }
                sig.append(')').append(javaToC(type.returnType()));
                out.add(sig.toString());
            }
        }
        return out;
    }

    /** Primitive types are C's of the same width; any object (Pointer, String, array) is P. */
    private static String javaToC(ClassDesc type) {
        return type.isPrimitive() ? type.descriptorString() : "P";
    }

    private static Optional<ConstantDesc> headerConstant(String name) throws IOException {
        for (String headerClass : HEADER_CLASSES) {
            for (FieldModel field : model("org/bytedeco/cuda/global/" + headerClass).fields()) {
                if (field.fieldName().stringValue().equals(name)) {
                    return field.findAttribute(Attributes.constantValue())
                            .map(a -> a.constant().constantValue());
                }
            }
        }
        return Optional.empty();
    }

    private static synchronized ClassModel model(String internalName) throws IOException {
        ClassModel cached = MODELS.get(internalName);
        if (cached != null) {
            return cached;
        }
        try (InputStream in = SignaturesMatchHeadersTest.class.getClassLoader()
                .getResourceAsStream(internalName + ".class")) {
            if (in == null) {
                throw new IOException(internalName + ".class is not on the test class path");
            }
            ClassModel model = ClassFile.of().parse(in.readAllBytes());
            MODELS.put(internalName, model);
            return model;
        }
    }
}
