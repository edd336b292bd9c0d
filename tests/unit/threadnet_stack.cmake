# `threadnet stack NAME -- COMMAND`: error paths outside a view (unit, with a preloaded
# fake of the module's msocket answer) and the real thing inside a umnet view
# (integration; skipped with exit 77 only while the umnet module is not built).
if(TARGET threadnet AND TARGET threadnet_msocket_static)
  add_library(tn_fake_view_shim SHARED ${CMAKE_CURRENT_LIST_DIR}/fake_view_shim.c)
  target_include_directories(tn_fake_view_shim PRIVATE ${PROJECT_SOURCE_DIR}/modules/umnet/msocket)
  add_test(NAME threadnet_stack.outside_view
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/threadnet_stack_test.sh $<TARGET_FILE:threadnet>
            $<TARGET_FILE:tn_fake_view_shim>)
  set_tests_properties(threadnet_stack.outside_view PROPERTIES LABELS unit TIMEOUT 120)

  add_executable(tn_stack_probe ${CMAKE_CURRENT_LIST_DIR}/stack_probe.c)
  target_link_libraries(tn_stack_probe PRIVATE threadnet_msocket_static)
  add_test(NAME threadnet_stack.in_view
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/threadnet_stack_view_test.sh $<TARGET_FILE:threadnet>
            $<TARGET_FILE:tn_stack_probe> ${CMAKE_BINARY_DIR}/modules/umnet/threadnet-umnet.so)
  set_tests_properties(threadnet_stack.in_view PROPERTIES LABELS integration TIMEOUT 300
    SKIP_RETURN_CODE 77)
endif()

# --help, the option tables and the parser agree (see the script).
if(TARGET threadnet)
  add_test(NAME launcher_help COMMAND ${CMAKE_CURRENT_LIST_DIR}/launcher_help_test.sh)
  set_tests_properties(launcher_help PROPERTIES LABELS unit TIMEOUT 120
    ENVIRONMENT "TN=$<TARGET_FILE:threadnet>")
endif()
