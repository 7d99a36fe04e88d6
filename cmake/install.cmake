# Installs the library, its headers (under include/dezero, the layout the sources use) and a
# package config, so a user's project can find_package(dezero) and link dezero::dezero.
include(CMakePackageConfigHelpers)

install(TARGETS dezero EXPORT dezeroTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The CUDA backend goes beside libdezero.so, where the core looks for it; no consumer links it.
if(TARGET dezero_cuda)
  install(TARGETS dezero_cuda LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
install(FILES dezero.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/dezero)
install(DIRECTORY core functions io layers datasets DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/dezero
  FILES_MATCHING PATTERN "*.h")
install(EXPORT dezeroTargets NAMESPACE dezero:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/dezero)

configure_package_config_file(cmake/dezeroConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/dezeroConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/dezero)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/dezeroConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/dezeroConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/dezeroConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/dezero)
